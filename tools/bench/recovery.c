/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recovery.c - time to open a pool after a crash, and a full check of a
 * pool of the same size.  A child process opens the pool, runs
 * transactions of 8 random 64 B writes and is killed with SIGKILL in the
 * middle; the parent then times the open, which runs recovery (libpm:
 * replay of committed entries not yet applied; libpmemobj: roll back of
 * the undo log of the transaction in flight, heap boot).  The same with a
 * log as large as the pool, the child appending 64 B records (libpm: the
 * chain's records and a window after them read; libpmemlog: the header,
 * which holds the end of the log, written by a second fence per append,
 * read).  The check is
 * pm_pool_check() (what pmck runs) against pmempool_check() (what
 * `pmempool check` runs), both in this process, on the pools the
 * transaction workloads wrote; its limit is a plain sequential read of
 * the same file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpmemlog.h>
#include <libpmemobj.h>
#include <libpmempool.h>

#include "libpm.h"
#include "pmbench.h"

#define NWRITES 8

static void child_libpm(const char *path, size_t span, int fd)
{
	static const char src[64];
	struct pm_pool *pool;
	struct pm_tx *tx;
	unsigned seed = (unsigned)getpid();
	char *base;

	if (pm_pool_open(path, 0, &pool))
		_exit(1);
	base = pm_pool_data(pool, NULL);
	for (long i = 0;; i++) {
		if (pm_tx_begin(pool, NWRITES * (64 + 24), &tx))
			_exit(1);
		for (int k = 0; k < NWRITES; k++)
			pm_tx_write(tx, base + pmb_rnd(&seed) % span * 4096,
				    src, 64);
		if (pm_tx_commit(tx))
			_exit(1);
		if (i == 1000 && write(fd, "", 1) != 1)
			_exit(1);
	}
}

static void child_pmdk(const char *path, size_t span, int fd)
{
	static const char src[64];
	unsigned seed = (unsigned)getpid();
	PMEMobjpool *pop = pmemobj_open(path, "pmbench");
	char *base;

	if (!pop)
		_exit(1);
	base = pmemobj_direct(pmemobj_root(pop, 0));
	for (long i = 0;; i++) {
		if (pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE))
			_exit(1);
		for (int k = 0; k < NWRITES; k++) {
			char *d = base + pmb_rnd(&seed) % span * 4096;

			pmemobj_tx_add_range_direct(d, 64);
			memcpy(d, src, 64);
		}
		pmemobj_tx_commit();
		pmemobj_tx_end();
		if (i == 1000 && write(fd, "", 1) != 1)
			_exit(1);
	}
}

static void child_log_libpm(const char *path, size_t span, int fd)
{
	static const char rec[64];
	struct pm_pool *pool;
	struct pm_log *log;

	(void)span;
	if (pm_pool_open(path, 0, &pool) || pm_pool_log(pool, &log))
		_exit(1);
	for (long i = 0;; i++) {
		int ret = pm_log_append(log, rec, sizeof(rec), NULL);

		if (ret == -ENOSPC)
			ret = pm_log_truncate(log, UINT64_MAX);
		if (ret || (i == 1000 && write(fd, "", 1) != 1))
			_exit(1);
	}
}

static void child_log_pmdk(const char *path, size_t span, int fd)
{
	static const char rec[64];
	PMEMlogpool *plp = pmemlog_open(path);

	(void)span;
	if (!plp)
		_exit(1);
	for (long i = 0;; i++) {
		if (pmemlog_append(plp, rec, sizeof(rec)))
			pmemlog_rewind(plp);
		if (i == 1000 && write(fd, "", 1) != 1)
			_exit(1);
	}
}

typedef void child_fn(const char *path, size_t span, int fd);

/* Run @child on @path in a child process, kill it mid-run; 0 on success. */
static int crash(child_fn *child, const char *path, size_t span)
{
	int fds[2], status;
	pid_t pid;
	char c;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		child(path, span, fds[1]);
		_exit(1);
	}
	close(fds[1]);
	/* After 1000 transactions, let it run a little more, then kill. */
	if (read(fds[0], &c, 1) == 1)
		usleep(2000 + (useconds_t)(rand() % 3000));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fds[0]);
	return WIFSIGNALED(status) ? 0 : -1;
}

static double open_libpm(const char *path, double *fences, uint64_t *replayed)
{
	struct pm_pool_info info;
	struct pm_pool *pool;
	struct pm_stats st;
	double t;
	int ret;

	pm_stats_reset();
	t = pmb_now();
	ret = pm_pool_open(path, 0, &pool);
	t = pmb_now() - t;
	pm_stats_get(&st);
	if (ret) {
		fprintf(stderr, "pmbench: open after crash: %s\n",
			pm_strerror(ret));
		return -1;
	}
	*fences = (double)st.fences;
	if (!pm_pool_info(pool, &info))
		*replayed += info.tx_replayed;
	pm_pool_close(pool);
	return t;
}

static double open_pmdk(const char *path)
{
	PMEMobjpool *pop;
	double t = pmb_now();

	pop = pmemobj_open(path, "pmbench");
	t = pmb_now() - t;
	if (!pop) {
		fprintf(stderr, "pmbench: pmemobj_open after crash: %s\n",
			pmemobj_errormsg());
		return -1;
	}
	pmemobj_close(pop);
	return t;
}

int pmb_recovery(const struct pmb_opts *o, const char *pm_path,
		 const char *pmdk_path)
{
	size_t span = o->pool_size / 4096 - 1;
	double a[o->reps], b[o->reps], f = 0;
	uint64_t replayed = 0;
	struct pmb_result *r;

	pmb_progress("recovery after SIGKILL");
	for (int i = 0; i < o->reps; i++) {
		if (crash(child_libpm, pm_path, span) ||
		    crash(child_pmdk, pmdk_path, span)) {
			fprintf(stderr, "pmbench: crash child failed\n");
			return -1;
		}
		a[i] = open_libpm(pm_path, &f, &replayed);
		b[i] = open_pmdk(pmdk_path);
		if (a[i] < 0 || b[i] < 0)
			return -1;
	}
	r = pmb_add("recovery", "open after SIGKILL mid-tx", 0);
	if (!r)
		return 0;
	pmb_times(r, a, b, o->reps);
	r->f_pm = f;
	r->f_pmdk = -1;
	r->unit = "ms";
	snprintf(r->name, sizeof(r->name), "open after kill (%.0f tx replayed)",
		 (double)replayed / o->reps);
	r->note = "time per open";
	return 0;
}

static double open_log_libpm(const char *path, uint64_t *nrec)
{
	struct pm_log_info info;
	struct pm_pool *pool;
	struct pm_log *log;
	double t = pmb_now();
	int ret = pm_pool_open(path, 0, &pool);

	t = pmb_now() - t;
	if (ret || (ret = pm_pool_log(pool, &log)) ||
	    (ret = pm_log_get_info(log, &info))) {
		fprintf(stderr, "pmbench: log open after crash: %s\n",
			pm_strerror(ret));
		return -1;
	}
	*nrec += info.nrecords;
	pm_pool_close(pool);
	return t;
}

static double open_log_pmdk(const char *path)
{
	double t = pmb_now();
	PMEMlogpool *plp = pmemlog_open(path);

	t = pmb_now() - t;
	if (!plp) {
		fprintf(stderr, "pmbench: pmemlog_open after crash: %s\n",
			pmemlog_errormsg());
		return -1;
	}
	pmemlog_close(plp);
	return t;
}

/* A pool with a log of pool_size bytes against a libpmemlog pool of the
 * same size: the open after a child appending to it was killed. */
int pmb_log_recovery(const struct pmb_opts *o)
{
	struct pm_pool_opts po = { .sz = sizeof(po), .log_size = o->pool_size };
	double a[o->reps], b[o->reps];
	char lpath[256], ppath[256];
	struct pmb_result *r;
	struct pm_pool *pool;
	PMEMlogpool *plp;
	uint64_t nrec = 0;
	int ret;

	pmb_progress("log recovery after SIGKILL");
	pmb_path(lpath, sizeof(lpath), o, "logrec-libpm");
	pmb_path(ppath, sizeof(ppath), o, "logrec-pmdk");
	ret = pm_pool_create(lpath, o->pool_size + (64 << 20), &po, &pool);
	if (ret) {
		fprintf(stderr, "pmbench: %s: %s\n", lpath, pm_strerror(ret));
		ret = -1;
		goto out;
	}
	pm_pool_close(pool);
	plp = pmemlog_create(ppath, o->pool_size + (1 << 20), 0600);
	if (!plp) {
		fprintf(stderr, "pmbench: %s: %s\n", ppath, pmemlog_errormsg());
		ret = -1;
		goto out;
	}
	pmemlog_close(plp);
	ret = -1;
	for (int i = 0; i < o->reps; i++) {
		if (crash(child_log_libpm, lpath, 0) ||
		    crash(child_log_pmdk, ppath, 0)) {
			fprintf(stderr, "pmbench: log crash child failed\n");
			goto out;
		}
		a[i] = open_log_libpm(lpath, &nrec);
		b[i] = open_log_pmdk(ppath);
		if (a[i] < 0 || b[i] < 0)
			goto out;
	}
	ret = 0;
	r = pmb_add("recovery", "", 0);
	if (!r)
		goto out;
	snprintf(r->name, sizeof(r->name),
		 "open after kill, %u MiB log (%uk rec)",
		 (unsigned)(o->pool_size >> 20) & 0xffff,
		 (unsigned)(nrec / (uint64_t)o->reps / 1000) & 0xffff);
	pmb_times(r, a, b, o->reps);
	r->f_pm = r->f_pmdk = -1;
	r->unit = "ms";
	r->note = "pm_pool_open of a pool with a log vs pmemlog_open";
out:
	unlink(lpath);
	unlink(ppath);
	return ret;
}

static double check_libpm(const char *path)
{
	double t = pmb_now();
	int ret = pm_pool_check(path, 0, NULL, NULL);

	t = pmb_now() - t;
	if (ret) {
		fprintf(stderr, "pmbench: pm_pool_check: %s\n",
			pm_strerror(ret));
		return -1;
	}
	return t;
}

static double check_pmdk(const char *path)
{
	struct pmempool_check_args args = {
		.path = path,
		.pool_type = PMEMPOOL_POOL_TYPE_DETECT,
		.flags = PMEMPOOL_CHECK_FORMAT_STR,
	};
	PMEMpoolcheck *ppc;
	double t = pmb_now();
	enum pmempool_check_result res;

	ppc = pmempool_check_init(&args, sizeof(args));
	if (!ppc) {
		fprintf(stderr, "pmbench: pmempool_check_init: %s\n",
			pmempool_errormsg());
		return -1;
	}
	while (pmempool_check(ppc))
		;
	res = pmempool_check_end(ppc);
	t = pmb_now() - t;
	if (res != PMEMPOOL_CHECK_RESULT_CONSISTENT) {
		fprintf(stderr, "pmbench: pmempool check: result %d\n", res);
		return -1;
	}
	return t;
}

/* The check's limit: a plain sequential read of the same file, 4 MiB at
 * a time, as dd would do it (warm page cache). */
static double read_file(const char *path)
{
	const size_t chunk = 4UL << 20;
	char *buf = malloc(chunk);
	int fd = open(path, O_RDONLY);
	double t = -1;
	off_t off = 0;
	ssize_t n;

	if (buf && fd >= 0) {
		memset(buf, 0, chunk);
		t = pmb_now();
		while ((n = pread(fd, buf, chunk, off)) > 0)
			off += n;
		t = n < 0 ? -1 : pmb_now() - t;
	}
	if (t < 0)
		fprintf(stderr, "pmbench: reading %s failed\n", path);
	if (fd >= 0)
		close(fd);
	free(buf);
	return t;
}

int pmb_check(const struct pmb_opts *o, const char *pm_path,
	      const char *pmdk_path)
{
	double a[o->reps], b[o->reps], l[o->reps];
	struct pmb_result *r;

	pmb_progress("check");
	for (int i = 0; i < o->reps; i++) {
		a[i] = check_libpm(pm_path);
		b[i] = check_pmdk(pmdk_path);
		l[i] = read_file(pm_path);
		if (a[i] < 0 || b[i] < 0 || l[i] < 0)
			return -1;
	}
	r = pmb_add("check", "", 0);
	if (!r)
		return 0;
	snprintf(r->name, sizeof(r->name), "%zu MiB pool (PMDK: headers only)",
		 o->pool_size >> 20);
	pmb_times(r, a, b, o->reps);
	r->t_limit = pmb_median(l, o->reps);
	r->f_pm = r->f_pmdk = -1;
	r->unit = "ms";
	r->note = "pm_pool_check vs pmempool_check; limit: pread of the file";
	return 0;
}
