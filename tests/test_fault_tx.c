/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault_tx.c - transactions under every single resource failure (the
 * loop is in fault_driver.c): begin, write, commit, a run of commits that
 * wraps the lane ring (ring space, retiring), and open with a committed
 * transaction to replay.  After each run the pool is reopened: its data
 * must be exactly the state before the failed call or, for a commit that
 * failed after its durability point, exactly the state after it.  A
 * replay at open is past its durability point already: only "after" will
 * do there.  The pool is on /dev/shm unless TMPDIR says otherwise (PAGE
 * granularity: msync can fail).
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "fault_driver.h"
#include "libpm.h"
#include "testhook.h"

#define POOL_SIZE (4UL << 20)
#define LANE_SIZE (64UL << 10)
#define SEED 9
#define TX_LEN 3000 /* bytes written by transaction j, at j * TX_LEN */
#define NTX 40	    /* a run of commits: more than a lane's ring holds */

static char golden[160], crashed[160];
static struct pm_pool *pool;
static struct pm_tx *tx;
static unsigned committed; /* transactions of a run that returned 0 */

static unsigned char want_byte(size_t i, unsigned ntx)
{
	unsigned j = (unsigned)(i / TX_LEN);

	return j < ntx ? fault_pattern(i % TX_LEN, 200 + j) :
			 fault_pattern(i, SEED);
}

/* Does the pool's data hold transactions [0, ntx) over the pattern? */
static int data_is(const unsigned char *d, size_t size, unsigned ntx)
{
	for (size_t i = 0; i < size; i++)
		if (d[i] != want_byte(i, ntx))
			return 0;
	return 1;
}

/* Reopen; the data is the state after @lo or after @hi transactions. */
static void assert_txs(unsigned lo, unsigned hi)
{
	struct pm_pool *p;
	unsigned char *d;
	size_t size;

	assert_int_equal(pm_pool_open(fault_path, 0, &p), 0);
	d = pm_pool_data(p, &size);
	if (!data_is(d, size, lo) && !data_is(d, size, hi))
		fail_msg("data is neither the state after %u nor after %u "
			 "transactions",
			 lo, hi);
	pm_pool_close(p);
}

/* Stage transaction @j: its TX_LEN bytes in three writes, one of them
 * large enough for non-temporal stores. */
static int tx_writes(struct pm_pool *p, struct pm_tx *t, unsigned j)
{
	unsigned char buf[TX_LEN];
	unsigned char *d = (unsigned char *)pm_pool_data(p, NULL) +
			   (size_t)j * TX_LEN;
	static const size_t cut[4] = { 0, 100, 2000, TX_LEN };
	int ret = 0;

	for (size_t i = 0; i < TX_LEN; i++)
		buf[i] = fault_pattern(i, 200 + j);
	for (int k = 0; k < 3 && !ret; k++)
		ret = pm_tx_write(t, d + cut[k], buf + cut[k],
				  cut[k + 1] - cut[k]);
	return ret;
}

static int one_tx(struct pm_pool *p, unsigned j)
{
	struct pm_tx *t;
	int ret = pm_tx_begin(p, TX_LEN, &t);

	if (ret)
		return ret;
	ret = tx_writes(p, t, j);
	if (ret) {
		pm_tx_abort(t);
		return ret;
	}
	return pm_tx_commit(t);
}

static void make_golden(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 4,
				  .lane_size = LANE_SIZE };
	struct pm_pool *p;
	unsigned char *d;
	size_t size;

	snprintf(golden, sizeof(golden), "%s/golden-tx", fault_dir);
	unlink(golden);
	assert_int_equal(pm_pool_create(golden, POOL_SIZE, &o, &p), 0);
	d = pm_pool_data(p, &size);
	for (size_t i = 0; i < size; i++)
		d[i] = fault_pattern(i, SEED);
	assert_int_equal(pm_persist(pm_pool_map(p), d, size), 0);
	pm_pool_close(p);
}

static void open_before(void)
{
	fault_copy_file(golden, fault_path);
	assert_int_equal(pm_pool_open(fault_path, 0, &pool), 0);
}

static void begin_before(void)
{
	open_before();
	assert_int_equal(pm_tx_begin(pool, TX_LEN, &tx), 0);
}

static void written_before(void)
{
	begin_before();
	assert_int_equal(tx_writes(pool, tx, 0), 0);
}

/* Abort whatever is still open (a no-op on an ended transaction), close. */
static void release(int ret)
{
	(void)ret;
	pm_tx_abort(tx);
	tx = NULL;
	pm_pool_close(pool);
	pool = NULL;
}

static int begin_run(void)
{
	return pm_tx_begin(pool, TX_LEN, &tx);
}

static int write_run(void)
{
	return tx_writes(pool, tx, 0);
}

/* A write may absorb a failed write-back (its large payload is flushed
 * when staged): the error must then fail the commit, not vanish. */
static void write_release(int ret)
{
	int cret;

	if (!ret) {
		cret = pm_tx_commit(tx);
		tx = NULL;
		if (pm_fault_hits() && !cret)
			fail_msg("a failed write-back in pm_tx_write was lost: "
				 "the commit returned 0");
	}
	release(ret);
}

/* Committed by write_release() unless the write failed. */
static void write_check(int done)
{
	assert_txs(0, 1);
	(void)done;
}

/* Begin and writes commit nothing. */
static void nothing_check(int done)
{
	(void)done;
	assert_txs(0, 0);
}

static int commit_run(void)
{
	struct pm_tx *t = tx;

	tx = NULL; /* ended by commit, whatever it returns */
	return pm_tx_commit(t);
}

static void commit_check(int done)
{
	if (done)
		assert_txs(1, 1);
	else
		assert_txs(0, 1);
}

static int run_run(void)
{
	int ret = 0;

	for (committed = 0; committed < NTX && !ret; committed++) {
		ret = one_tx(pool, committed);
		if (ret)
			break;
	}
	return ret;
}

static void run_check(int done)
{
	if (done)
		assert_txs(NTX, NTX);
	else
		assert_txs(committed, committed + 1);
}

/* ---- open with a committed, unapplied transaction ------------------------ */

static void make_crashed(void)
{
	struct pm_pool *p;

	snprintf(crashed, sizeof(crashed), "%s/crashed-tx", fault_dir);
	fault_copy_file(golden, crashed);
	assert_int_equal(pm_pool_open(crashed, 0, &p), 0);
	pm_tx_test_skip_apply = 1;
	assert_int_equal(one_tx(p, 0), 0);
	pm_tx_test_skip_apply = 0;
	/* The image a crash right after the commit leaves behind. */
	fault_copy_file(crashed, fault_path);
	pm_pool_close(p);
	fault_copy_file(fault_path, crashed);
}

static void crashed_before(void)
{
	fault_copy_file(crashed, fault_path);
}

static int replay_run(void)
{
	return pm_pool_open(fault_path, 0, &pool);
}

static void replay_release(int ret)
{
	struct pm_pool_info info;

	if (!ret) {
		assert_int_equal(pm_pool_info(pool, &info), 0);
		assert_int_equal(info.tx_replayed, 1);
	}
	pm_pool_close(pool);
	pool = NULL;
}

/* The commit returned 0 before the crash: it must survive any failure
 * of the open that replays it. */
static void replay_check(int done)
{
	(void)done;
	assert_txs(1, 1);
}

static void test_fault_tx_ops(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_tx_begin", open_before, begin_run, release, nothing_check,
		  0 },
		{ "pm_tx_write", begin_before, write_run, write_release,
		  write_check, 1 },
		/* Commit applies after its durability point with flushes
		 * and no fence: a failed write-back there is left for the
		 * next drain (the entry stays unretired, so a crash still
		 * replays it) and commit returns 0. */
		{ "pm_tx_commit", written_before, commit_run, release,
		  commit_check, 1 },
		{ "40 transactions", open_before, run_run, release, run_check,
		  1 },
	};

	(void)state;
	make_golden();
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

static void test_fault_tx_replay(void **state)
{
	static const struct fault_op op = {
		"pm_pool_open (replay)", crashed_before, replay_run,
		replay_release,		 replay_check,	 0,
	};

	(void)state;
	make_golden();
	make_crashed();
	fault_run(&op);
}

/* Closing a pool allocates nothing: under out-of-memory it still retires
 * every lane (more lanes than one fence retires, each with a commit),
 * so a reopen replays nothing and finds the data. */
static void test_pool_close_without_memory(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 70,
				  .lane_size = 16384 };
	struct pm_pool_info info;
	struct pm_pool *p;

	(void)state;
	unlink(fault_path);
	assert_int_equal(pm_pool_create(fault_path, POOL_SIZE, &o, &p), 0);
	for (unsigned j = 0; j < 3; j++)
		assert_int_equal(one_tx(p, j), 0);
	assert_int_equal(pm_fault_arm("malloc", 1, PM_FAULT_STICKY), 0);
	pm_pool_close(p);
	assert_int_equal(pm_fault_calls("malloc"), 0);
	pm_fault_disarm();
	assert_int_equal(pm_pool_open(fault_path, 0, &p), 0);
	assert_int_equal(pm_pool_info(p, &info), 0);
	assert_int_equal(info.tx_replayed, 0);
	pm_pool_close(p);
}

static char last_err[512]; /* the last error message of the library */

static void keep_err(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == PM_LOG_ERR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
}

/* Transaction 0's commit, its entry's msync failing (@flags 0: that one
 * msync, PM_FAULT_STICKY: the undo's too): the data in memory does not
 * change, and the message says what the media may hold. */
static void commit_fails_as(unsigned flags, const char *says)
{
	unsigned char *d;
	size_t size;

	pm_set_log_fn(keep_err, NULL);
	last_err[0] = 0;
	assert_int_equal(pm_tx_begin(pool, TX_LEN, &tx), 0);
	assert_int_equal(tx_writes(pool, tx, 0), 0);
	assert_int_equal(pm_fault_arm("msync", 1, flags), 0);
	assert_int_equal(pm_tx_commit(tx), pm_fault_errno("msync"));
	tx = NULL;
	assert_true(pm_fault_hits() >= 1);
	pm_fault_disarm();
	d = pm_pool_data(pool, &size);
	assert_true(data_is(d, size, 0));
	if (!strstr(last_err, says))
		fail_msg("commit error \"%s\" does not say \"%s\"", last_err,
			 says);
}

static void commit_fails(void)
{
	commit_fails_as(0, "nothing committed");
}

/* A commit whose entry cannot be written back (its msync fails) fails
 * and is undone: the data stays as before it, in memory and after a
 * reopen, and the lane takes the next commit. */
static void test_commit_msync_fails(void **state)
{
	unsigned char *d;
	size_t size;

	(void)state;
	make_golden();
	open_before();
	if (pm_map_granularity(pm_pool_map(pool)) != PM_GRANULARITY_PAGE) {
		print_message("no msync on %s: nothing to fail\n", fault_dir);
		release(0);
		skip();
	}
	commit_fails();
	release(0);
	assert_txs(0, 0);
	/* reopened: it fails again, then the lane takes the next commit */
	assert_int_equal(pm_pool_open(fault_path, 0, &pool), 0);
	commit_fails();
	assert_int_equal(one_tx(pool, 0), 0);
	d = pm_pool_data(pool, &size);
	assert_true(data_is(d, size, 1));
	release(0);
	assert_txs(1, 1);
}

/* The entry's msync fails and so does the write-back of its clearing:
 * the error says the outcome is unknown (a crash may still replay it),
 * nothing is applied, and the lane takes the next commit. */
static void test_commit_undo_msync_fails(void **state)
{
	unsigned char *d;
	size_t size;

	(void)state;
	make_golden();
	open_before();
	if (pm_map_granularity(pm_pool_map(pool)) != PM_GRANULARITY_PAGE) {
		print_message("no msync on %s: nothing to fail\n", fault_dir);
		release(0);
		skip();
	}
	commit_fails_as(PM_FAULT_STICKY, "outcome unknown");
	assert_int_equal(one_tx(pool, 0), 0);
	d = pm_pool_data(pool, &size);
	assert_true(data_is(d, size, 1));
	release(0);
	assert_txs(1, 1);
}

/* A second thread takes the only lane: the write-back of what the first
 * thread's commit applied fails (the first msync after the arm), and its
 * pm_tx_begin() says so; the next begin takes the lane. */
static void *adopt_thread(void *arg)
{
	struct pm_tx *t;
	int *ret = arg;

	ret[0] = pm_tx_begin(pool, TX_LEN, &t);
	if (!ret[0])
		pm_tx_abort(t);
	ret[1] = one_tx(pool, 1);
	return NULL;
}

static void test_adopt_msync_fails(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 1,
				  .lane_size = LANE_SIZE };
	int ret[2];
	pthread_t th;

	(void)state;
	unlink(fault_path);
	assert_int_equal(pm_pool_create(fault_path, POOL_SIZE, &o, &pool), 0);
	if (pm_map_granularity(pm_pool_map(pool)) != PM_GRANULARITY_PAGE) {
		print_message("no msync on %s: nothing to fail\n", fault_dir);
		release(0);
		skip();
	}
	assert_int_equal(one_tx(pool, 0), 0);
	assert_int_equal(pm_fault_arm("msync", 1, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, adopt_thread, ret), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(pm_fault_hits(), 1);
	pm_fault_disarm();
	assert_int_equal(ret[0], pm_fault_errno("msync"));
	assert_int_equal(ret[1], 0);
	release(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_tx_ops),
		cmocka_unit_test(test_fault_tx_replay),
		cmocka_unit_test(test_pool_close_without_memory),
		cmocka_unit_test(test_commit_msync_fails),
		cmocka_unit_test(test_commit_undo_msync_fails),
		cmocka_unit_test(test_adopt_msync_fails),
	};

	alarm(300); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, fault_setup, fault_teardown);
}
