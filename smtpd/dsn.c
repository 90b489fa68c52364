/* dsn: building RFC 3464 bounce and delay messages (see dsn.h). */
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dsn_date(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    if (strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0 && len > 0)
        buf[0] = '\0';
}

static const char *status_of(const struct dsn_info *d, const struct dsn_rcpt *r)
{
    if (r->status && r->status[0])
        return r->status;
    return d->delayed ? "4.0.0" : "5.0.0";
}

/* The readable part, in our own words: what happened, to whom, what the other side
 * said, and what the sender can do. */
static void text_part(FILE *f, const struct dsn_info *d)
{
    char when[64], until[64];
    dsn_date(d->arrival, when, sizeof when);
    dsn_date(d->retry_until, until, sizeof until);
    fprintf(f, "This is the mail server %s, writing about a message you sent\n"
               "on %s.\n\n", d->hostname, when);
    if (d->delayed)
        fprintf(f, "It has NOT reached the recipients below yet. You need not do anything:\n"
                   "the server keeps trying until %s and writes again\n"
                   "only if it has to give up.\n\n", until);
    else
        fputs("It could NOT be delivered to the recipients below, and the server has\n"
              "stopped trying.\n\n", f);
    for (size_t i = 0; i < d->nrcpt; i++) {
        const struct dsn_rcpt *r = &d->rcpt[i];
        bool remote = r->remote && r->remote[0];
        fprintf(f, "  Recipient: %s\n", r->addr);
        fprintf(f, "  %s %s%s%s\n\n", remote ? "Answer from" : "Problem:", remote ? r->remote : "",
                remote ? ":\n    " : "", r->diag && r->diag[0] ? r->diag : "delivery failed");
    }
    if (!d->delayed)
        fputs("What you can do: check each address for typing mistakes. If an address\n"
              "is right, the problem lies with the receiving side: send again later,\n"
              "or reach the person another way. Your mail administrator can help;\n"
              "give them the lines above. The headers of your message are attached.\n\n", f);
}

static void status_part(FILE *f, const struct dsn_info *d)
{
    char date[64];
    dsn_date(d->arrival, date, sizeof date);
    fprintf(f, "Reporting-MTA: dns; %s\nX-Queue-ID: %s\nArrival-Date: %s\n", d->hostname,
            d->queue_id, date);
    dsn_date(d->now, date, sizeof date);
    for (size_t i = 0; i < d->nrcpt; i++) {
        const struct dsn_rcpt *r = &d->rcpt[i];
        fprintf(f, "\nFinal-Recipient: rfc822; %s\nAction: %s\nStatus: %s\n", r->addr,
                d->delayed ? "delayed" : "failed", status_of(d, r));
        if (r->remote && r->remote[0])
            fprintf(f, "Remote-MTA: dns; %s\n", r->remote);
        if (r->diag && r->diag[0])
            fprintf(f, "Diagnostic-Code: %s; %s\n",
                    (r->diag[0] >= '2' && r->diag[0] <= '5' && r->remote && r->remote[0])
                        ? "smtp" : "x-local", r->diag);
        fprintf(f, "Last-Attempt-Date: %s\n", date);
        if (d->delayed) {
            char until[64];
            dsn_date(d->retry_until, until, sizeof until);
            fprintf(f, "Will-Retry-Until: %s\n", until);
        }
    }
}

char *dsn_build(const struct dsn_info *d, size_t *len)
{
    char *buf = NULL;
    char date[64], boundary[128];
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    dsn_date(d->now, date, sizeof date);
    snprintf(boundary, sizeof boundary, "%s.%lld/%s", d->queue_id, (long long)d->now,
             d->hostname);
    fprintf(f, "From: Mail Delivery System <MAILER-DAEMON@%s>\nTo: <%s>\nSubject: %s\n"
               "Date: %s\nMessage-ID: <%s.%lld.dsn@%s>\nAuto-Submitted: auto-replied\n"
               "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
               "\tboundary=\"%s\"\n\nA delivery report (RFC 3464) in MIME format.\n\n",
            d->hostname, d->sender,
            d->delayed ? "Not delivered yet (still trying)" : "Not delivered: message returned",
            date, d->queue_id, (long long)d->now, d->hostname, boundary);
    fprintf(f, "--%s\nContent-Description: What happened\n"
               "Content-Type: text/plain; charset=us-ascii\n\n", boundary);
    text_part(f, d);
    fprintf(f, "--%s\nContent-Description: Delivery status\n"
               "Content-Type: message/delivery-status\n\n", boundary);
    status_part(f, d);
    fprintf(f, "\n--%s\nContent-Description: Headers of your message\n"
               "Content-Type: text/rfc822-headers\n\n", boundary);
    if (d->hlen)
        fwrite(d->headers, 1, d->hlen, f);
    if (d->hlen && d->headers[d->hlen - 1] != '\n')
        fputc('\n', f);
    fprintf(f, "\n--%s--\n", boundary);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
