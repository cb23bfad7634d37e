/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_tx_stress.c - transactions under caller-side locking: 2 to 64
 * threads on a pool with few small lanes (so that rings fill and wrap all
 * the time) commit small transactions while holding one of two mutexes
 * shared with other threads; some commit once and exit, some sleep while
 * holding their mutex, and a log appender may run beside them.  Each
 * mutex guards a counter in the pool that every commit under it bumps, so
 * that lost or doubled updates show after the run and after a reopen.
 * A hang fails the test: a watchdog alarm ends each configuration.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libpm.h"
#include "tmpdir.h"

#define POOL_SIZE (4UL << 20)
#define NMUTEX 2
#define ITERS 150
#define ROUNDS 4    /* of the whole matrix: the hang needed luck */
#define WATCHDOG 20 /* seconds per configuration */

static char path[256];
static struct pm_pool *pool;
static struct pm_log *plog;
static uint8_t *data;
static pthread_mutex_t mu[NMUTEX];
static uint64_t commits[NMUTEX]; /* under mu[i] */
static uint64_t done[64];	 /* by thread */
static int stop;
static char config[64]; /* the configuration running, for the watchdog */
/* Under valgrind (which serialises threads, ~50x slower): one round, a
 * longer watchdog. */
static int slow;

/* Per thread: its own slot after the counters. */
static uint64_t *counter(unsigned m)
{
	return (uint64_t *)(data + m * 64);
}

static uint64_t *slot(unsigned id)
{
	return (uint64_t *)(data + 4096 + id * 8);
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_tx_stress: hang (watchdog): ";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, config, strlen(config));
	_exit(1);
}

/* One transaction under mutex @m: the counter and the thread's slot.
 * @inside: the mutex is taken inside the transaction. */
static void commit_one(unsigned id, unsigned m, int nap, int inside)
{
	struct pm_tx *tx;
	uint64_t c, v;
	int ret;

	for (;;) {
		if (!inside)
			pthread_mutex_lock(&mu[m]);
		ret = pm_tx_begin(pool, 64, &tx);
		if (ret != -EBUSY)
			break;
		/* Every lane in a transaction: let their threads go on. */
		if (!inside)
			pthread_mutex_unlock(&mu[m]);
		sched_yield();
	}
	assert_int_equal(ret, 0);
	if (inside)
		pthread_mutex_lock(&mu[m]);
	c = *counter(m) + 1;
	v = *slot(id) + 1;
	assert_int_equal(pm_tx_write(tx, counter(m), &c, sizeof(c)), 0);
	if (nap) /* preempted mid-transaction, holding the mutex */
		usleep(2000);
	assert_int_equal(pm_tx_write(tx, slot(id), &v, sizeof(v)), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	commits[m]++;
	done[id]++;
	pthread_mutex_unlock(&mu[m]);
}

/* A transaction outside any mutex, then a turn through mutex @m: the
 * pattern that waits on a thread filling its lane under @m. */
static void commit_then_lock(unsigned id, unsigned m)
{
	struct pm_tx *tx;
	uint64_t v;
	int ret;

	while ((ret = pm_tx_begin(pool, 64, &tx)) == -EBUSY)
		sched_yield();
	assert_int_equal(ret, 0);
	v = *slot(id) + 1;
	assert_int_equal(pm_tx_write(tx, slot(id), &v, sizeof(v)), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	done[id]++;
	pthread_mutex_lock(&mu[m]);
	pthread_mutex_unlock(&mu[m]);
}

/* Thread kinds by id % 4: 0 loops under the mutexes (taken inside the
 * transaction if id % 8 == 4); 1 commits once and exits; 2 loops and
 * sleeps now and then; 3 commits outside the mutexes and then takes
 * one. */
static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	int n = id % 4 == 1 ? 1 : ITERS;

	for (int i = 0; i < n; i++) {
		unsigned m = (id + (unsigned)i) % NMUTEX;

		if (id % 4 == 3)
			commit_then_lock(id, m);
		else
			commit_one(id, m, id % 4 == 2 && i % 50 == 25,
				   id % 8 == 4);
	}
	return NULL;
}

static void *appender(void *arg)
{
	uint64_t k = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int ret = pm_log_append(plog, &k, sizeof(k), NULL);

		if (ret == -ENOSPC)
			assert_int_equal(pm_log_truncate(plog, UINT64_MAX), 0);
		else
			assert_int_equal(ret, 0);
		k++;
	}
	return NULL;
}

static void check_counts(unsigned nthreads)
{
	for (unsigned m = 0; m < NMUTEX; m++)
		assert_int_equal(*counter(m), commits[m]);
	for (unsigned id = 0; id < nthreads; id++)
		assert_int_equal(*slot(id), done[id]);
}

static uint64_t total(unsigned nthreads)
{
	uint64_t n = 0;

	for (unsigned id = 0; id < nthreads; id++)
		n += done[id];
	return n;
}

static void run(unsigned nthreads, unsigned nlanes, int with_log)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = nlanes,
				  .lane_size = 4096,
				  .log_size = with_log ? 64 << 10 : 0 };
	pthread_t t[64], la;
	struct timespec t0, t1;

	snprintf(config, sizeof(config), "%u threads, %u lanes%s\n", nthreads,
		 nlanes, with_log ? ", log" : "");
	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &pool), 0);
	data = pm_pool_data(pool, NULL);
	if (with_log)
		assert_int_equal(pm_pool_log(pool, &plog), 0);
	memset(commits, 0, sizeof(commits));
	memset(done, 0, sizeof(done));
	stop = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(slow ? 10 * WATCHDOG : WATCHDOG);
	if (with_log)
		assert_int_equal(pthread_create(&la, NULL, appender, NULL), 0);
	for (unsigned i = 0; i < nthreads; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker,
						(void *)(uintptr_t)i),
				 0);
	for (unsigned i = 0; i < nthreads; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	if (with_log)
		assert_int_equal(pthread_join(la, NULL), 0);
	alarm(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check_counts(nthreads);
	pm_pool_close(pool);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, NULL);
	check_counts(nthreads);
	pm_pool_close(pool);
	unlink(path);
	printf("# %2u threads, %u lanes%s: %llu commits in %.3f s\n", nthreads,
	       nlanes, with_log ? ", log" : "",
	       (unsigned long long)total(nthreads),
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static void matrix(void)
{
	static const unsigned threads[] = { 2, 4, 16, 64 };
	static const unsigned lanes[] = { 2, 8 };

	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
		for (size_t j = 0; j < sizeof(lanes) / sizeof(lanes[0]); j++)
			for (int with_log = 0; with_log < 2; with_log++)
				run(threads[i], lanes[j], with_log);
}

static void test_tx_stress_caller_locks(void **state)
{
	(void)state;
	for (int round = 0; round < (slow ? 1 : ROUNDS); round++)
		matrix();
}

int main(void)
{
	const char *pre;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_stress_caller_locks),
	};

	snprintf(path, sizeof(path), "%s/test_tx_stress.%d",
		 test_tmpdir("/dev/shm"), getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	pm_set_log_level(getenv("PM_LOG") ? 4 : 0);
	pre = getenv("LD_PRELOAD");
	slow = pre && strstr(pre, "vgpreload");
	signal(SIGALRM, on_alarm);
	for (unsigned m = 0; m < NMUTEX; m++)
		pthread_mutex_init(&mu[m], NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
