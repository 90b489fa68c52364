/* queue_file: envelope parsing/formatting and the crash-safe file operations of the
 * outbound queue (format: see queue.c). */
#include "queue_file.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define ENV_MAGIC "mailserver-queue 1"

static const char *const state_names[] = { "pending", "done", "bounced" };

int queue_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= QUEUE_ID_MAX || id[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* A copy with tabs, CR and LF (and other controls) turned into spaces. */
static char *clean_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        return NULL;
    for (char *p = d; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return d;
}

void qrcpt_set_error(struct qrcpt *r, const char *status, const char *remote, const char *diag)
{
    char *rm = clean_dup(remote), *dg = clean_dup(diag);
    if (!rm || !dg) {
        free(rm);
        free(dg);
        return;
    }
    free(r->remote);
    free(r->diag);
    r->remote = rm;
    r->diag = dg;
    str_copy(r->status, status ? status : "", sizeof r->status);
    for (char *p = r->status; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
}

int qentry_add_rcpt(struct qentry *e, const char *addr)
{
    struct qrcpt *v = realloc(e->rcpt, (e->nrcpt + 1) * sizeof *v);
    if (!v)
        return -1;
    e->rcpt = v;
    struct qrcpt *r = &v[e->nrcpt];
    memset(r, 0, sizeof *r);
    r->addr = clean_dup(addr);
    r->remote = strdup("");
    r->diag = strdup("");
    if (!r->addr || !r->remote || !r->diag) {
        free(r->addr);
        free(r->remote);
        free(r->diag);
        return -1;
    }
    e->nrcpt++;
    return 0;
}

void qentry_free(struct qentry *e)
{
    for (size_t i = 0; i < e->nrcpt; i++) {
        free(e->rcpt[i].addr);
        free(e->rcpt[i].remote);
        free(e->rcpt[i].diag);
    }
    free(e->rcpt);
    free(e->msgid);
    free(e->sender);
    memset(e, 0, sizeof *e);
}

/* "rcpt\tSTATE\tATTEMPTS\tNEXT\tSTATUS\tREMOTE\tADDR\tDIAG" (line already split off) */
static int parse_rcpt(char *line, struct qentry *e)
{
    char *f[8];
    for (int i = 0; i < 8; i++) {
        f[i] = strsep(&line, "\t");
        if (!f[i])
            return -1;
    }
    int st = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(f[1], state_names[i]) == 0)
            st = i;
    char *end;
    errno = 0;
    unsigned long att = strtoul(f[2], &end, 10);
    if (st < 0 || *end || errno)
        return -1;
    long long next = strtoll(f[3], &end, 10);
    if (*end || errno || f[6][0] == '\0')
        return -1;
    if (qentry_add_rcpt(e, f[6]) < 0)
        return -1;
    struct qrcpt *r = &e->rcpt[e->nrcpt - 1];
    r->state = (enum qr_state)st;
    r->attempts = (unsigned)att;
    r->next_try = next;
    qrcpt_set_error(r, f[4], f[5], f[7]);
    return 0;
}

static int parse_num(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end || errno)
        return -1;
    *out = v;
    return 0;
}

static int parse_line(char *line, struct qentry *e, int *have)
{
    char *sp = strchr(line, ' ');
    char *tab = strchr(line, '\t');
    if (strncmp(line, "rcpt\t", 5) == 0 && tab)
        return parse_rcpt(line, e);
    if (!sp)
        return -1;
    *sp = '\0';
    const char *v = sp + 1;
    int64_t n;
    if (strcmp(line, "id") == 0) {
        if (!queue_id_valid(v))
            return -1;
        str_copy(e->id, v, sizeof e->id);
        *have |= 1;
    } else if (strcmp(line, "msgid") == 0) {
        free(e->msgid);
        if (!(e->msgid = clean_dup(v)))
            return -1;
    } else if (strcmp(line, "created") == 0) {
        if (parse_num(v, &e->created) < 0)
            return -1;
        *have |= 2;
    } else if (strcmp(line, "size") == 0) {
        if (parse_num(v, &n) < 0 || n < 0)
            return -1;
        e->size = (uint64_t)n;
    } else if (strcmp(line, "sender") == 0) {
        free(e->sender);
        if (!(e->sender = clean_dup(v)))
            return -1;
        *have |= 4;
    } else if (strcmp(line, "warned") == 0) {
        if (parse_num(v, &n) < 0)
            return -1;
        e->warned = n != 0;
    } else {
        return -1;      /* unknown key: refuse rather than lose information */
    }
    return 0;
}

int qentry_parse(const char *text, size_t len, struct qentry *e)
{
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    int rc = -1, have = 0;
    char *p = buf;
    char *line = strsep(&p, "\n");
    if (!line || strcmp(line, ENV_MAGIC) != 0)
        goto out;
    while ((line = strsep(&p, "\n")) != NULL) {
        if (*line == '\0')
            continue;
        if (parse_line(line, e, &have) < 0)
            goto out;
    }
    if (have == 7 && e->nrcpt > 0) {
        if (!e->msgid && !(e->msgid = strdup("")))
            goto out;
        rc = 0;
    }
out:
    free(buf);
    if (rc < 0)
        qentry_free(e);
    return rc;
}

char *qentry_format(const struct qentry *e, size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    if (!f)
        return NULL;
    fprintf(f, "%s\nid %s\nmsgid %s\ncreated %" PRId64 "\nsize %" PRIu64 "\nsender %s\nwarned %d\n",
            ENV_MAGIC, e->id, e->msgid ? e->msgid : "", e->created, e->size,
            e->sender ? e->sender : "", e->warned ? 1 : 0);
    for (size_t i = 0; i < e->nrcpt; i++) {
        const struct qrcpt *r = &e->rcpt[i];
        fprintf(f, "rcpt\t%s\t%u\t%" PRId64 "\t%s\t%s\t%s\t%s\n", state_names[r->state],
                r->attempts, r->next_try, r->status, r->remote ? r->remote : "", r->addr,
                r->diag ? r->diag : "");
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = blen;
    return buf;
}

/* ---------------------------------------------------------------- files ---- */

int queue_dir(const char *data_dir, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/queue", data_dir);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* OUT = QDIR/SUB, or QDIR/SUB/NAME when name is not NULL; -1 with ENAMETOOLONG when
 * it does not fit. */
static int qpath(char *out, size_t size, const char *qdir, const char *sub, const char *name)
{
    int n = name ? snprintf(out, size, "%s/%s/%s", qdir, sub, name)
                 : snprintf(out, size, "%s/%s", qdir, sub);
    if (n < 0 || (size_t)n >= size)
        return errno = ENAMETOOLONG, -1;
    return 0;
}

/* Unlink QDIR/SUB/ID (a file already gone is no error); when sync, fsync QDIR/SUB after. */
static int remove_entry(const char *qdir, const char *sub, const char *id, int sync)
{
    char path[4096];
    if (qpath(path, sizeof path, qdir, sub, id) < 0)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    if (!sync)
        return 0;
    if (qpath(path, sizeof path, qdir, sub, NULL) < 0)
        return -1;
    return fsync_dir(path);
}

static int mkdir_0700(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    log_err("queue: mkdir %s: %s", path, strerror(errno));
    return -1;
}

int queue_make_dirs(const char *qdir)
{
    static const char *const sub[] = { "tmp", "msg", "env" };
    char p[4096];
    if (mkdir_0700(qdir) < 0)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        if (qpath(p, sizeof p, qdir, sub[i], NULL) < 0 || mkdir_0700(p) < 0)
            return -1;
    }
    return 0;
}

int queue_write_atomic(const char *qdir, const char *sub, const char *final,
                       const void *data, size_t len)
{
    char tmp[4096], dst[4096], dir[4096];
    static unsigned counter;
    unsigned c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    int a = snprintf(tmp, sizeof tmp, "%s/tmp/%s.%s.%ld.%u", qdir, final, sub, (long)getpid(), c);
    if (a < 0 || (size_t)a >= sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    if (qpath(dst, sizeof dst, qdir, sub, final) < 0 || qpath(dir, sizeof dir, qdir, sub, NULL) < 0)
        return -1;
    return dfile_write(tmp, dst, dir, data, len);
}

static int read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > 16 * 1024 * 1024) {
        close(fd);
        return errno = EFBIG, -1;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    ssize_t r = pread_full(fd, buf, n, 0);
    int e = errno;
    close(fd);
    if (r < 0) {
        free(buf);
        return errno = e, -1;
    }
    size_t got = (size_t)r;
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

int queue_read(const char *qdir, const char *id, struct qentry *e)
{
    char path[4096];
    if (!queue_id_valid(id))
        return errno = EINVAL, -1;
    if (qpath(path, sizeof path, qdir, "env", id) < 0)
        return -1;
    char *text;
    size_t len;
    if (read_file(path, &text, &len) < 0)
        return -1;
    memset(e, 0, sizeof *e);
    int rc = qentry_parse(text, len, e);
    free(text);
    if (rc < 0 || strcmp(e->id, id) != 0) {
        if (rc == 0)
            qentry_free(e);
        log_err("queue: envelope %s is malformed", path);
        return errno = EINVAL, -1;
    }
    return 0;
}

int queue_update(const char *qdir, const struct qentry *e)
{
    size_t len;
    char *text = qentry_format(e, &len);
    if (!text)
        return -1;
    int rc = queue_write_atomic(qdir, "env", e->id, text, len);
    int err = errno;
    free(text);
    if (rc < 0)
        log_err("queue: update of %s: %s", e->id, strerror(err));
    errno = err;
    return rc;
}

int queue_unlink(const char *qdir, const char *id)
{
    if (!queue_id_valid(id))
        return errno = EINVAL, -1;
    if (remove_entry(qdir, "env", id, 0) < 0)
        return -1;
    return remove_entry(qdir, "msg", id, 0);
}

int queue_sync_removed(const char *qdir)
{
    char dir[4096];
    if (qpath(dir, sizeof dir, qdir, "env", NULL) < 0)
        return -1;
    return fsync_dir(dir);
}

int queue_remove(const char *qdir, const char *id)
{
    if (!queue_id_valid(id))
        return errno = EINVAL, -1;
    if (remove_entry(qdir, "env", id, 1) < 0)
        return -1;
    return remove_entry(qdir, "msg", id, 1);
}

int queue_open_msg(const char *qdir, const char *id)
{
    char path[4096];
    if (!queue_id_valid(id))
        return errno = EINVAL, -1;
    if (qpath(path, sizeof path, qdir, "msg", id) < 0)
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_list_ids(const char *qdir, char ***ids, size_t *n)
{
    char path[4096];
    *ids = NULL;
    *n = 0;
    if (qpath(path, sizeof path, qdir, "env", NULL) < 0)
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d)) != NULL) {
        if (!queue_id_valid(de->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*ids, cap * sizeof *v);
            if (!v)
                goto fail;
            *ids = v;
        }
        if (!((*ids)[*n] = strdup(de->d_name)))
            goto fail;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, sizeof **ids, cmp_str);
    return 0;
fail:
    closedir(d);
    queue_free_ids(*ids, *n);
    *ids = NULL;
    *n = 0;
    return -1;
}

void queue_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* Remove files of DIR/SUB older than max_age; if need_env, only those without env/NAME. */
static int cleanup_dir(const char *qdir, const char *sub, int need_env, time_t max_age)
{
    char dir[4096], path[4096];
    if (qpath(dir, sizeof dir, qdir, sub, NULL) < 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (max_age > 0 && now - st.st_mtime < max_age)   /* 0: all (a file's mtime */
            continue;                                  /* can be ahead of time()) */
        if (need_env) {
            char env[4096];
            if (qpath(env, sizeof env, qdir, "env", de->d_name) < 0 || access(env, F_OK) == 0)
                continue;
        }
        if (unlink(path) == 0) {
            removed++;
            log_info("queue: removed stale %s/%s", sub, de->d_name);
        }
    }
    closedir(d);
    return removed;
}

int queue_cleanup(const char *qdir, time_t max_age)
{
    return cleanup_dir(qdir, "tmp", 0, max_age) + cleanup_dir(qdir, "msg", 1, max_age);
}
