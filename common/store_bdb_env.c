/* store_bdb_env: the environment half of the Berkeley DB backend: open (with
 * DB_REGISTER|DB_RECOVER), reopen after DB_RUNRECOVERY, close, and the
 * DB_ENV->failchk that every operation runs first (store_env_check). */
#include "store_bdb_env.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_bdb_rep.h"

static const char *const db_files[DBI_N] = { "users.db", "aliases.db", "popauth.db", "authfail.db",
                                               "greylist.db" };

#define LOCK_TIMEOUT_US 2000000u   /* a backstop: operations do not wait (DB_TXN_NOWAIT) */
#define CHK_EVERY_MS 1000          /* routine failchk at most this often */
/* Mutexes for the cache hash buckets (the default, about 500 for 4 MB, makes every
 * failchk walk them all); a handful serve a store this small and this lightly shared. */
#define MP_MUTEXES 16
/* The cache, and what DB_MULTIVERSION needs beside it: a committed transaction stays
 * in the region (with a mutex) until the last page version it made leaves the cache,
 * and every page version takes a mutex, so a long listing beside busy writers needs
 * up to one transaction per cached page and more mutexes than the cache's estimate
 * (4 MB: about 1200 pages; with the defaults, 100 transactions, writers failed with
 * ENOMEM beside 1 s listings of 100000 users; with these none did). Beyond the cache,
 * old page versions go to __db.freezer.* files in the store's directory. These sizes
 * take effect when the regions are made (a new store, or after recovery); an existing
 * environment keeps the sizes it was made with. */
#define CACHE_BYTES (4u << 20)
#define TX_MAX 1500
#define MVCC_MUTEXES 4000

/* Handles of discarded environments, process-wide: see env_discard. */
static pthread_mutex_t dead_mu = PTHREAD_MUTEX_INITIALIZER;
static DB *dead_dbs[256];
static size_t ndead;

static int64_t mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0 && clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store_backoff(unsigned attempt)
{
    unsigned us = attempt < 10 ? 100u << attempt : 100000u;
    us += (unsigned)rand() % (us + 1);
    struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000L };
    (void)nanosleep(&ts, NULL);
}

/* ---- environment -------------------------------------------------------- */

/* The identity of the environment's first region file: device, inode and birth time
 * (statx; 0 where the file system keeps none). A recovery unlinks the file and makes it
 * anew, and ext4 readily gives the new file the inode number just freed. */
struct region_id {
    dev_t dev;
    ino_t ino;
    int64_t btime_ns;
};

static int region_id_of(const struct store *st, struct region_id *id)
{
    char path[PATH_MAX + 16];
    struct statx sx;
    if ((size_t)snprintf(path, sizeof path, "%s/__db.001", st->home) >= sizeof path)
        return -1;
    if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_BTIME, &sx) != 0)
        return errno == ENOENT ? 1 : -1;
    id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    id->ino = (ino_t)sx.stx_ino;
    id->btime_ns = (sx.stx_mask & STATX_BTIME)
                       ? (int64_t)sx.stx_btime.tv_sec * 1000000000 + sx.stx_btime.tv_nsec : 0;
    return 0;
}

/* Whether the environment's regions are no longer the ones st opened: another
 * process's open ran recovery (DB_REGISTER found a dead registrant) and made them
 * anew, which panics the old ones for everyone still attached. */
static bool regions_replaced(const struct store *st)
{
    struct region_id id;
    int r = region_id_of(st, &id);
    if (r != 0)
        return r > 0;                   /* gone: being made anew */
    return id.ino != st->region_ino || id.dev != st->region_dev ||
           id.btime_ns != st->region_btime_ns;
}

static void region_remember(struct store *st)
{
    struct region_id id;
    if (region_id_of(st, &id) == 0) {
        st->region_dev = id.dev;
        st->region_ino = id.ino;
        st->region_btime_ns = id.btime_ns;
    }
}

/* Berkeley DB's own messages, as errors; but the panic that another process's
 * recovery causes here is a known, routine event: its lines (the PANIC, and those of
 * closing the panicked environment) stay out of the log, and store_env_reopen says
 * in one plain line what happened. Any other panic is logged as it comes. */
static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
    struct store *st = env->app_private;
    if (store_rep_on() && strstr(msg, "BDB0111") != NULL)
        return;                     /* a write at a replica: it goes to the master */
    if (st != NULL && atomic_load(&st->others_recovery))
        return;
    if (st != NULL && (strstr(msg, "PANIC") != NULL || strstr(msg, "run recovery") != NULL) &&
        regions_replaced(st)) {
        atomic_store(&st->others_recovery, true);
        return;
    }
    log_err("store: %s%s%s", pfx ? pfx : "", pfx ? ": " : "", msg);
}

static void bdb_msgcall(const DB_ENV *env, const char *msg)
{
    (void)env;
    log_info("store: %s", msg);
}

/* Our pid, read at store_open (the store is opened after any fork): failchk asks
 * is_alive about every thread slot and mutex, and getpid() is a system call. */
static pid_t self_pid;

static int bdb_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    (void)env;
    (void)tid;
    (void)flags;
    if (pid == self_pid)
        return 1;               /* our own threads leave the library before exiting */
    return kill(pid, 0) == 0 || errno == EPERM;
}

static void close_databases(struct store *st)
{
    for (int i = 0; i < DBI_N; i++) {
        if (st->db[i] != NULL)
            (void)st->db[i]->close(st->db[i], 0);
        st->db[i] = NULL;
    }
}

static void env_close_handles(struct store *st)
{
    close_databases(st);
    store_rep_drop_channels(true);
    if (st->env != NULL)
        (void)st->env->close(st->env, 0);
    st->env = NULL;
}

/* After DB_RUNRECOVERY a dead process may hold region mutexes: closing the
 * databases could block on them. Mark the environment panicked (every user must
 * reopen now anyway) and discard it; the stale DB handles cannot be freed safely,
 * so they are kept (reachable) for the life of the process. Reopens are rare. */
static void env_discard(struct store *st)
{
    store_rep_drop_channels(false);
    if (st->env != NULL) {
        (void)st->env->set_flags(st->env, DB_PANIC_ENVIRONMENT, 1);
        (void)st->env->close(st->env, 0);
    }
    st->env = NULL;
    (void)pthread_mutex_lock(&dead_mu);
    for (int i = 0; i < DBI_N; i++) {
        if (st->db[i] != NULL && ndead < sizeof dead_dbs / sizeof dead_dbs[0])
            dead_dbs[ndead++] = st->db[i];
        st->db[i] = NULL;
    }
    (void)pthread_mutex_unlock(&dead_mu);
}

/* DB_TXN_NOWAIT (set in env_open): no lock request of an operation waits; a
 * conflict returns at once and the operation retries after a short backoff.
 * Waiting is unsafe here: a process killed while waiting leaves its lock's condition variable with a dead waiter,
 * and failchk, freeing that lock, then blocks for ever in pthread_cond_destroy
 * (libdb 5.3 with glibc >= 2.25). Not waiting also means a lock held by a dead
 * process cannot block us: the retry runs failchk, which frees it.
 * DB_REGION_INIT: the region files are written whole when they are made. Otherwise they
 * are sparse, and on a full disk (or tmpfs) the first write to one of their holes, by
 * any process at any later time, is a SIGBUS inside Berkeley DB with the region's
 * mutexes held (seen: the queue runner opening the store after the disk filled, and
 * smtpd then waiting for ever). Made whole, a full disk fails the open instead. */
static int env_configure(DB_ENV *env, const char *home)
{
    int ret;
    env->set_errcall(env, bdb_errcall);
    env->set_msgcall(env, bdb_msgcall);
    if ((ret = env->set_thread_count(env, 256)) != 0 ||
        (ret = env->set_flags(env, DB_REGION_INIT, 1)) != 0 ||
        (ret = env->set_isalive(env, bdb_is_alive)) != 0 ||
        (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
        (ret = env->set_cachesize(env, 0, CACHE_BYTES, 1)) != 0 ||
        (ret = env->set_tx_max(env, TX_MAX)) != 0 ||
        (ret = env->mutex_set_increment(env, MVCC_MUTEXES)) != 0 ||
        (ret = env->set_mp_mtxcount(env, MP_MUTEXES)) != 0 ||
        (ret = env->set_timeout(env, LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT)) != 0 ||
        (ret = env->set_lg_filemode(env, 0600)) != 0 ||
        (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
        (ret = store_rep_configure(env, home)) != 0)
        return ret;
    return 0;
}

/* DB_MULTIVERSION: writers copy a page before changing it while an older snapshot may
 * still read it, so that listings (store_bdb.c walks) read in DB_TXN_SNAPSHOT
 * transactions without read locks. A per-open flag, not kept in the file: databases
 * made by a release without it open the same way. Not with a cluster: Berkeley DB
 * refuses snapshot transactions on a replica (listings read at degree 2 there), and a
 * replica's own replication threads may have a database open already without it, which
 * made the open fail ("BDB3041 DB_MULTIVERSION cannot be specified on a database file
 * which is already open") at a new replica's first start. */
static int open_databases(struct store *st)
{
    for (int i = 0; i < DBI_N; i++) {
        int ret = db_create(&st->db[i], st->env, 0);
        if (ret != 0) {
            st->db[i] = NULL;
            return ret;
        }
        ret = st->db[i]->open(st->db[i], NULL, db_files[i], NULL, DB_BTREE,
                              DB_CREATE | DB_AUTO_COMMIT | DB_THREAD |
                                  (store_rep_on() ? 0 : DB_MULTIVERSION), 0600);
        if (ret != 0)
            return ret;
    }
    return 0;
}

/* With a cluster, a replica cannot create the databases: they appear when the master's
 * creation replicates (and a fresh group has no master until its first election), so
 * wait for them, up to a minute. Returns open_databases' last answer. */
#define REP_OPEN_WAIT_MS 60000

static bool rep_open_retry(int ret)
{
    return ret == ENOENT || ret == EACCES || ret == DB_REP_HANDLE_DEAD || ret == DB_REP_LOCKOUT ||
           ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED;
}

static int open_databases_waiting(struct store *st)
{
    int ret = open_databases(st);
    for (int waited = 0; ret != 0 && store_rep_on() && rep_open_retry(ret) && waited < REP_OPEN_WAIT_MS &&
                         !store_rep_stopping();
         waited += 100) {
        if (waited == 0)
            log_info("store: cluster: waiting for the master's databases (%s)", db_strerror(ret));
        close_databases(st);
        struct timespec ts = { 0, 100000000L };
        (void)nanosleep(&ts, NULL);
        ret = open_databases(st);
    }
    return ret;
}

/* Open the environment and the databases into st (handles NULL before).
 * DB_REGISTER|DB_RECOVER without DB_FAILCHK: when the registry shows a process
 * that died with the environment open, the opener panics the old regions and
 * runs full recovery (live processes then reopen on DB_RUNRECOVERY). With
 * DB_FAILCHK the opener would first attach the old regions to run failchk, and
 * that blocks for ever on a region mutex the dead process held (seen with
 * kill -9 of both daemons under load). */
static int env_open(struct store *st)
{
    const u_int32_t flags = DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
                            DB_INIT_TXN | DB_REGISTER | DB_RECOVER | DB_THREAD |
                            (store_rep_on() ? DB_INIT_REP : 0);
    int ret = db_env_create(&st->env, 0);
    if (ret != 0) {
        st->env = NULL;
        log_err("store: db_env_create: %s", db_strerror(ret));
        return ret;
    }
    st->env->app_private = st;
    mode_t old = umask(077);
    if ((ret = env_configure(st->env, st->home)) == 0 &&
        (ret = st->env->open(st->env, st->home, flags, 0600)) == 0 &&
        (ret = store_rep_start(st->env)) == 0 &&
        (ret = open_databases_waiting(st)) == 0)
        ret = st->env->set_flags(st->env, DB_TXN_NOWAIT, 1);   /* after the opens, which may wait */
    umask(old);
    if (ret != 0) {
        log_err("store: cannot open %s: %s", st->home, db_strerror(ret));
        env_close_handles(st);
    } else {
        region_remember(st);
    }
    atomic_store(&st->last_chk_ms, mono_ms());   /* the open just recovered if needed */
    return ret;
}

void store_env_reopen(struct store *st, unsigned long seen_gen)
{
    if (pthread_rwlock_wrlock(&st->rw) != 0)
        return;
    if (st->gen == seen_gen) {
        bool others = atomic_load(&st->others_recovery) || (st->env != NULL && regions_replaced(st));
        atomic_store(&st->others_recovery, others);
        if (others)
            log_warn("store: another process left the store uncleanly; recovered, reopening "
                     "the store (nothing lost)");
        else
            log_warn("store: reopening the environment %s (recovery)", st->home);
        env_discard(st);
        (void)env_open(st);
        atomic_store(&st->others_recovery, false);
        st->gen++;
    }
    (void)pthread_rwlock_unlock(&st->rw);
}

void store_dbs_reopen(struct store *st, unsigned long seen_gen)
{
    if (pthread_rwlock_wrlock(&st->rw) != 0)
        return;
    if (st->gen == seen_gen && st->env != NULL) {
        log_info("store: cluster: this node's copy rolled back transactions to match the "
                 "master's; reopening the databases");
        close_databases(st);
        if (open_databases_waiting(st) != 0) {
            log_err("store: cannot reopen the databases in %s: reopening the environment",
                    st->home);
            env_discard(st);
            (void)env_open(st);
        }
        st->gen++;
    }
    (void)pthread_rwlock_unlock(&st->rw);
}

/* ---- health checks -------------------------------------------------------- */

/* DB_REGISTER's registry (__db.register): fixed 25-byte slots, "X..." when empty,
 * else the pid of a process that has the environment open and holds an fcntl
 * lock on the slot's first byte for as long as it lives. An unlocked, non-empty
 * slot is a process that died with the environment open. */
#define REG_SLOT 25
#define REG_MAX_SLOTS 64

static bool dead_seen(const struct store *st, pid_t pid)
{
    unsigned n = atomic_load(&st->ndead_seen);
    for (unsigned i = 0; i < n && i < sizeof st->dead_seen / sizeof st->dead_seen[0]; i++)
        if (atomic_load_explicit(&st->dead_seen[i], memory_order_relaxed) == pid)
            return true;
    return false;
}

/* True if a registrant we have not handled yet has died. RECORD (with chk_mu held):
 * recorded as handled and logged; otherwise only a look, no lock taken. */
static bool registry_new_dead(struct store *st, bool record)
{
    char buf[REG_SLOT * REG_MAX_SLOTS];
    if (st->reg_fd < 0)
        return false;
    ssize_t n = pread(st->reg_fd, buf, sizeof buf, 0);
    bool found = false;
    for (ssize_t off = 0; n > 0 && off + REG_SLOT <= n; off += REG_SLOT) {
        if (buf[off] == 'X')
            continue;
        pid_t pid = (pid_t)strtol(buf + off, NULL, 10);
        if (pid <= 0 || pid == self_pid || dead_seen(st, pid))
            continue;
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };
        if (fcntl(st->reg_fd, F_GETLK, &fl) != 0 || fl.l_type != F_UNLCK)
            continue;               /* locked: alive (or we cannot tell) */
        if (!record)
            return true;
        unsigned k = atomic_load(&st->ndead_seen);
        if (k >= sizeof st->dead_seen / sizeof st->dead_seen[0])
            k = 0;                  /* forget the oldest; at worst one more failchk */
        atomic_store_explicit(&st->dead_seen[k], pid, memory_order_relaxed);
        atomic_store(&st->ndead_seen, k + 1);
        log_warn("store: process %ld died with the database open; checking", (long)pid);
        found = true;
    }
    return found;
}

int store_env_check(struct store *st, bool force)
{
    int64_t now = mono_ms();
    if (pthread_mutex_trylock(&st->chk_mu) != 0)
        return 0;               /* another thread is at it */
    if (!registry_new_dead(st, true) && !force &&
        now - atomic_load(&st->last_chk_ms) < CHK_EVERY_MS) {
        (void)pthread_mutex_unlock(&st->chk_mu);
        return 0;
    }
    int ret = st->env->failchk(st->env, 0);
    atomic_store(&st->last_chk_ms, ret == 0 ? now : 0);   /* 0: the next call checks again */
    (void)pthread_mutex_unlock(&st->chk_mu);
    return ret;
}

bool store_env_check_due(struct store *st, int64_t slack_ms, bool registry)
{
    return mono_ms() - atomic_load(&st->last_chk_ms) >= CHK_EVERY_MS + slack_ms ||
           (registry && registry_new_dead(st, false));
}

/* ---- the cluster's watch ------------------------------------------------------- */

/* A process that sits idle through another process's recovery (a userdb killed, the
 * next one's open recovers) keeps its panicked environment until its next store call
 * reopens it. Alone that costs nothing; in a cluster the listener's replication threads
 * run in that environment: they stop with it, and the node stops taking the master's
 * log (and acknowledging it) until some call happens to come. So a cluster process
 * checks four times a second whether its regions were replaced, and reopens at once
 * (which restarts repmgr: store_rep_start), or tries again after a reopen that failed.
 * One statx(2) per check, nothing that enters the environment: a replicated
 * environment's calls wait out replication's lockouts (a master stepping down), and a
 * stop waits for this thread. */
#define WATCH_EVERY_MS 250

static void *watch_main(void *arg)
{
    struct store *st = arg;
    (void)pthread_mutex_lock(&st->watch_mu);
    while (!st->watch_stop) {
        struct timespec ts;
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += WATCH_EVERY_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        (void)pthread_cond_timedwait(&st->watch_cv, &st->watch_mu, &ts);
        if (st->watch_stop)
            break;
        (void)pthread_mutex_unlock(&st->watch_mu);
        bool replaced = false;
        unsigned long gen = 0;
        if (pthread_rwlock_rdlock(&st->rw) == 0) {
            replaced = st->env == NULL || regions_replaced(st);   /* NULL: a reopen failed */
            gen = st->gen;
            (void)pthread_rwlock_unlock(&st->rw);
        }
        if (replaced)
            store_env_reopen(st, gen);
        store_rep_tick();
        (void)pthread_mutex_lock(&st->watch_mu);
    }
    (void)pthread_mutex_unlock(&st->watch_mu);
    return NULL;
}

static void watch_start(struct store *st)
{
    pthread_condattr_t ca;
    if (pthread_mutex_init(&st->watch_mu, NULL) != 0)
        return;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&st->watch_cv, &ca) != 0) {
        pthread_mutex_destroy(&st->watch_mu);
        return;
    }
    (void)pthread_condattr_destroy(&ca);
    if (pthread_create(&st->watch, NULL, watch_main, st) != 0) {
        log_warn("store: cluster: cannot start the recovery watch (a reopen waits for a store call)");
        pthread_cond_destroy(&st->watch_cv);
        pthread_mutex_destroy(&st->watch_mu);
        return;
    }
    st->watch_pid = getpid();
}

/* Only in the process that started it: a fork's child has no such thread. */
static void watch_stop(struct store *st)
{
    if (st->watch_pid == 0 || st->watch_pid != getpid())
        return;
    (void)pthread_mutex_lock(&st->watch_mu);
    st->watch_stop = true;
    (void)pthread_cond_signal(&st->watch_cv);
    (void)pthread_mutex_unlock(&st->watch_mu);
    (void)pthread_join(st->watch, NULL);
    pthread_cond_destroy(&st->watch_cv);
    pthread_mutex_destroy(&st->watch_mu);
    st->watch_pid = 0;
}

/* ---- open and close ----------------------------------------------------------- */

static int mkdir_private(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    log_err("store: mkdir %s: %s", path, strerror(errno));
    return -1;
}

/* Whether the regions that exist were made with other subsystems (DB_INIT_REP:
 * [cluster] added to a server or taken away; join them and read their flags). Added:
 * the open fails ("configured environment flags incompatible with existing
 * environment"). Taken away: the open works, but the regions keep a replica's role,
 * which refuses every write. A single node looks only if replication ever ran here
 * (its __db.rep.egen file): a plain server's open is spared the ~1 ms. */
static bool env_made_otherwise(const char *home)
{
    char egen[PATH_MAX + 32];
    int n = snprintf(egen, sizeof egen, "%s/__db.rep.egen", home);
    if (!store_rep_on() && (n < 0 || (size_t)n >= sizeof egen || access(egen, F_OK) != 0))
        return false;
    DB_ENV *env = NULL;
    if (db_env_create(&env, 0) != 0)
        return false;
    bool other = false;
    u_int32_t flags = 0;
    if (env->open(env, home, DB_JOINENV, 0) == 0 && env->get_open_flags(env, &flags) == 0)
        other = ((flags & DB_INIT_REP) != 0) != store_rep_on();
    (void)env->close(env, 0);
    return other;
}

/* While no process has the environment open (all were stopped for the change) its
 * regions can be removed and made again: DB_ENV->remove without DB_FORCE refuses while
 * any process uses them, and touches neither the databases nor the logs. A dead
 * process's registration stays in __db.register, so the next open still runs the
 * recovery it calls for. */
static void env_remake(const char *home)
{
    DB_ENV *env = NULL;
    if (db_env_create(&env, 0) != 0)
        return;
    int ret = env->remove(env, home, 0);       /* (frees the handle in any case) */
    if (ret == 0)
        log_info("store: %s was made with other settings ([cluster] added or removed): "
                 "its regions were made again; the data is as it was", home);
    else if (env_made_otherwise(home))      /* (not: another process remade it first) */
        log_err("store: %s was made with other settings ([cluster] added or removed) and "
                "is still in use (%s): stop every daemon and userdb, then start again",
                home, db_strerror(ret));
}

int store_open(const char *data_dir, struct store **out)
{
    *out = NULL;
    self_pid = getpid();
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return STORE_ERROR;
    st->reg_fd = -1;
    int n = snprintf(st->home, sizeof st->home, "%s/db", data_dir);
    if (n < 0 || (size_t)n >= sizeof st->home || mkdir_private(data_dir) != 0 ||
        mkdir_private(st->home) != 0) {
        free(st);
        return STORE_ERROR;
    }
    if (pthread_rwlock_init(&st->rw, NULL) != 0) {
        free(st);
        return STORE_ERROR;
    }
    if (pthread_mutex_init(&st->chk_mu, NULL) != 0) {
        pthread_rwlock_destroy(&st->rw);
        free(st);
        return STORE_ERROR;
    }
    if (env_made_otherwise(st->home))
        env_remake(st->home);
    /* Two first openers at once can meet each other's recovery: try again. */
    int ret = env_open(st);
    for (unsigned i = 0; ret != 0 && i < 5; i++) {
        store_backoff(i + 6);
        ret = env_open(st);
    }
    if (ret != 0) {
        store_close(st);
        return STORE_ERROR;
    }
    char reg[PATH_MAX + 16];
    n = snprintf(reg, sizeof reg, "%s/__db.register", st->home);
    st->reg_fd = n > 0 && (size_t)n < sizeof reg ? open(reg, O_RDONLY | O_CLOEXEC) : -1;
    if (st->reg_fd < 0)
        log_warn("store: %s: %s (dead processes noticed only once a second)", reg, strerror(errno));
    if (store_rep_on()) {
        store_rep_attach(st);
        watch_start(st);
    }
    *out = st;
    return STORE_OK;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    watch_stop(st);
    if (store_rep_on())
        store_rep_attach(NULL);
    /* After another process ran recovery our environment is panicked: its
     * handles cannot be closed cleanly, so discard them as a reopen does. */
    if (st->env != NULL && st->env->txn_checkpoint(st->env, 0, 0, 0) == DB_RUNRECOVERY)
        env_discard(st);
    else
        env_close_handles(st);
    if (st->reg_fd >= 0)
        (void)close(st->reg_fd);     /* after the environment: see struct store */
    pthread_mutex_destroy(&st->chk_mu);
    pthread_rwlock_destroy(&st->rw);
    free(st);
}
