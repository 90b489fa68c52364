/* smtp_reply: the pure part of the outbound SMTP client (smtp_client.h): reply lines,
 * EHLO keywords, enhanced status codes, and the RFC 5321 section 5 loop check on a
 * greeting. No I/O; unit-tested and fuzzed apart from the connection code. */
#include "smtp_client.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int smtpc_parse_line(const char *line, int *code, const char **text)
{
    if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
        return -1;
    *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    char sep = line[3];
    if (sep == '-') {
        *text = line + 4;
        return 0;
    }
    if (sep != ' ' && sep != '\0')
        return -1;
    *text = sep ? line + 4 : line + 3;
    return 1;
}

/* Length of a domain without one trailing dot ("mx.example." names "mx.example"). */
static size_t name_len(const char *s, size_t n)
{
    return (n > 1 && s[n - 1] == '.') ? n - 1 : n;
}

bool smtpc_names_host(const char *text, const char *hostname)
{
    if (!text || !hostname || !hostname[0])
        return false;
    const char *p = text;
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
        isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-'))
        p += 4;                       /* "220 " / "250-": the reply code */
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " \t\r\n");
    size_t want = name_len(hostname, strlen(hostname));
    n = name_len(p, n);
    return n > 0 && n == want && strncasecmp(p, hostname, n) == 0;
}

void smtpc_caps_line(struct smtpc_caps *caps, const char *line)
{
    char kw[32];
    size_t i = 0;
    while (line[i] && line[i] != ' ' && line[i] != '=' && i < sizeof kw - 1) {
        kw[i] = (char)toupper((unsigned char)line[i]);
        i++;
    }
    kw[i] = '\0';
    const char *arg = line + i;
    while (*arg == ' ' || *arg == '=')
        arg++;
    if (strcmp(kw, "STARTTLS") == 0)
        caps->starttls = true;
    else if (strcmp(kw, "PIPELINING") == 0)
        caps->pipelining = true;
    else if (strcmp(kw, "8BITMIME") == 0)
        caps->eightbit = true;
    else if (strcmp(kw, "ENHANCEDSTATUSCODES") == 0)
        caps->enhanced = true;
    else if (strcmp(kw, "SIZE") == 0) {
        caps->size = true;
        caps->size_max = isdigit((unsigned char)*arg) ? strtoull(arg, NULL, 10) : 0;
    }
}

int smtpc_enhanced(const char *text, char *enh)
{
    const char *p = text;
    if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return 0;
    p += 2;
    for (int part = 0; part < 2; part++) {
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 4) {
            p++;
            digits++;
        }
        if (digits == 0 || digits > 3)
            return 0;
        if (part == 0 && *p++ != '.')
            return 0;
    }
    if (*p && *p != ' ')
        return 0;
    size_t n = (size_t)(p - text);
    memcpy(enh, text, n);
    enh[n] = '\0';
    return 1;
}

