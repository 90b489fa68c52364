/* runner: the outbound queue runner of smtpd, a child process of the daemon (forked
 * after the privilege drop) that delivers DATA_DIR/queue (queue_run.h) and sleeps until
 * the next due retry or a kick. It takes an flock on DATA_DIR/queue/runner.pid (one
 * runner per data_dir; a second one waits), dies with its parent (PR_SET_PDEATHSIG and a
 * getppid check), reloads the config file on SIGHUP and runs a pass at once on SIGUSR1
 * (sent by runner_kick and by `smtpd --queue flush`) or when inotify reports a new
 * entry in queue/env/ or the flush file, so queued mail is tried at once even without
 * a kick. */
#ifndef MS_RUNNER_H
#define MS_RUNNER_H

#include "config.h"

/* Start the runner child (once; later calls, e.g. on SIGHUP reload, make a running
 * child reload the config, or restart it if it died). 0, or -1 if fork failed. */
int runner_start(const struct config *cfg);
/* Ask the runner to look at the queue now (after queueing). Async-signal-safe enough to
 * call from any thread; restarts a dead runner. */
void runner_kick(void);
/* Stop the runner child and wait for it (at most 5 s). */
void runner_stop(void);

/* The pid in DATA_DIR/queue/runner.pid if that runner is alive, else 0. */
int runner_pid_of(const char *data_dir);

#endif
