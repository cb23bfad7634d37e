/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fault_log.c - the append log under every single resource failure
 * (the loop is in fault_driver.c): create and open of a pool with a log,
 * append, batch append, walk and truncate.  After each run the pool is
 * reopened and its log must hold exactly the records from before the
 * operation, or exactly those from after it: never a part of a batch,
 * never a damaged record, never a gap.
 * Linked with libpm-fault.la, the library built with PM_FAULT_INJECTION.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "fault_driver.h"
#include "libpm.h"

#define POOL_SIZE (4UL << 20)
#define LOG_SIZE (256UL << 10)
#define NREC 6	    /* records in the starting state */
#define MAX_REC 700 /* bytes of the largest record */

static char golden[160];
static struct pm_pool *pool;
static struct pm_log *plog;

/* Record @i of the test sequence: its length and bytes. */
static size_t rec_len(unsigned i)
{
	return 50 + (i * 97) % (MAX_REC - 50);
}

static void rec_fill(unsigned i, unsigned char *buf)
{
	for (size_t k = 0; k < rec_len(i); k++)
		buf[k] = fault_pattern(k, 100 + i);
}

static void append(struct pm_log *log, unsigned i)
{
	unsigned char buf[MAX_REC];

	rec_fill(i, buf);
	assert_int_equal(pm_log_append(log, buf, rec_len(i), NULL), 0);
}

struct seen {
	unsigned n;
	uint64_t seq[64];
	int bad;	/* a record with the wrong length or bytes */
	unsigned first; /* test record index of seq[0] */
};

/* Walk callback: records must be the test sequence from s->first on. */
static int collect(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct seen *s = arg;
	unsigned char want[MAX_REC];
	unsigned i = s->first + s->n;

	if (s->n == 64)
		return 1;
	rec_fill(i, want);
	if (len != rec_len(i) || memcmp(rec, want, len))
		s->bad = 1;
	s->seq[s->n++] = seq;
	return 0;
}

/* The reopened pool's log holds test records [first, first + n) with
 * consecutive seqs. */
static int log_holds(unsigned first, unsigned n)
{
	struct seen s = { .first = first };
	struct pm_pool *p;
	struct pm_log *log;

	assert_int_equal(pm_pool_open(fault_path, 0, &p), 0);
	assert_int_equal(pm_pool_log(p, &log), 0);
	assert_int_equal(pm_log_walk(log, 0, collect, &s), 0);
	pm_pool_close(p);
	for (unsigned k = 1; k < s.n; k++)
		if (s.seq[k] != s.seq[k - 1] + 1)
			fail_msg("log seq gap: %llu after %llu",
				 (unsigned long long)s.seq[k],
				 (unsigned long long)s.seq[k - 1]);
	return !s.bad && s.n == n;
}

static void assert_log(unsigned first, unsigned n, unsigned first2, unsigned n2,
		       int done)
{
	if (done && !log_holds(first2, n2))
		fail_msg("log does not hold records %u..%u after success",
			 first2, first2 + n2 - 1);
	if (!done && !log_holds(first, n) && !log_holds(first2, n2))
		fail_msg("log holds neither records %u..%u nor %u..%u", first,
			 first + n - 1, first2, first2 + n2 - 1);
}

static void make_golden(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = LOG_SIZE };
	struct pm_pool *p;
	struct pm_log *log;

	snprintf(golden, sizeof(golden), "%s/golden-log", fault_dir);
	unlink(golden);
	assert_int_equal(pm_pool_create(golden, POOL_SIZE, &o, &p), 0);
	assert_int_equal(pm_pool_log(p, &log), 0);
	for (unsigned i = 0; i < NREC; i++)
		append(log, i);
	pm_pool_close(p);
}

static void open_before(void)
{
	fault_copy_file(golden, fault_path);
	assert_int_equal(pm_pool_open(fault_path, 0, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &plog), 0);
}

static void close_release(int ret)
{
	(void)ret;
	pm_pool_close(pool);
	pool = NULL;
	plog = NULL;
}

/* ---- create and open ----------------------------------------------------- */

static void create_before(void)
{
	unlink(fault_path);
}

static int create_run(void)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = LOG_SIZE };

	return pm_pool_create(fault_path, POOL_SIZE, &o, &pool);
}

static void create_check(int done)
{
	if (done)
		assert_log(0, 0, 0, 0, 1);
	else
		fault_assert_no_file(fault_path);
}

static void golden_before(void)
{
	fault_copy_file(golden, fault_path);
}

static int open_run(void)
{
	return pm_pool_open(fault_path, 0, &pool);
}

static void unchanged_check(int done)
{
	(void)done;
	assert_log(0, NREC, 0, NREC, 1);
}

/* ---- append, walk, truncate --------------------------------------------- */

static int append_run(void)
{
	unsigned char buf[MAX_REC];
	uint64_t seq;
	int ret;

	rec_fill(NREC, buf);
	ret = pm_log_append(plog, buf, rec_len(NREC), &seq);
	return ret;
}

static void append_check(int done)
{
	assert_log(0, NREC, 0, NREC + 1, done);
}

static int batch_run(void)
{
	static unsigned char buf[3][MAX_REC];
	struct iovec v[3];

	for (unsigned k = 0; k < 3; k++) {
		rec_fill(NREC + k, buf[k]);
		v[k].iov_base = buf[k];
		v[k].iov_len = rec_len(NREC + k);
	}
	return pm_log_append_batch(plog, v, 3, NULL);
}

static void batch_check(int done)
{
	assert_log(0, NREC, 0, NREC + 3, done);
}

static struct seen walked;

static int walk_run(void)
{
	memset(&walked, 0, sizeof(walked));
	return pm_log_walk(plog, 0, collect, &walked);
}

static void walk_release(int ret)
{
	if (!ret && (walked.n != NREC || walked.bad))
		fail_msg("walk saw %u records (bad: %d), not %u", walked.n,
			 walked.bad, NREC);
	close_release(ret);
}

static int truncate_run(void)
{
	struct pm_log_info info;

	assert_int_equal(pm_log_get_info(plog, &info), 0);
	/* Drop the first two records. */
	return pm_log_truncate(plog, info.first_seq + 1);
}

static void truncate_check(int done)
{
	assert_log(0, NREC, 2, NREC - 2, done);
}

static void test_fault_log_pool(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_pool_create (log)", create_before, create_run,
		  close_release, create_check, 0 },
		{ "pm_pool_open (log)", golden_before, open_run, close_release,
		  unchanged_check, 0 },
	};

	(void)state;
	make_golden();
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

static void test_fault_log_ops(void **state)
{
	static const struct fault_op ops[] = {
		{ "pm_log_append", open_before, append_run, close_release,
		  append_check, 0 },
		{ "pm_log_append_batch", open_before, batch_run, close_release,
		  batch_check, 0 },
		{ "pm_log_walk", open_before, walk_run, walk_release,
		  unchanged_check, 0 },
		{ "pm_log_truncate", open_before, truncate_run, close_release,
		  truncate_check, 0 },
	};

	(void)state;
	make_golden();
	fault_run_all(ops, sizeof(ops) / sizeof(ops[0]));
}

/* ---- write-back errors reach the operation they concern ---------------- */

/* Walk callback: count the records. */
static int count(uint64_t seq, const void *rec, size_t len, void *arg)
{
	(void)seq, (void)rec, (void)len;
	++*(unsigned *)arg;
	return 0;
}

static unsigned walk_count(struct pm_log *log)
{
	unsigned n = 0;

	assert_int_equal(pm_log_walk(log, 0, count, &n), 0);
	return n;
}

/* An aborted transaction's failed staging write-back is that write's
 * error: it does not fail the log's next appends. */
/* The msync faults below need a pool written back with msync (PAGE
 * granularity, TMPDIR on tmpfs or a disk); on DAX nothing calls it. */
static int no_msync(void)
{
	if (pm_map_granularity(pm_pool_map(pool)) == PM_GRANULARITY_PAGE)
		return 0;
	print_message("no msync on %s: nothing to fail\n", fault_dir);
	close_release(0);
	return 1;
}

static void test_log_append_after_failed_tx_write(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 4,
				  .lane_size = 512 << 10,
				  .log_size = LOG_SIZE };
	static unsigned char big[256 << 10];
	struct pm_map_info mi;
	struct pm_tx *tx;
	void *d;

	(void)state;
	unlink(fault_path);
	assert_int_equal(pm_pool_create(fault_path, POOL_SIZE, &o, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &plog), 0);
	if (no_msync())
		skip();
	assert_int_equal(pm_map_get_info(pm_pool_map(pool), &mi), 0);
	if (mi.movnt_threshold > sizeof(big)) {
		close_release(0);
		skip(); /* no non-temporal copies: nothing flushed at write */
	}
	d = pm_pool_data(pool, NULL);
	assert_int_equal(pm_tx_begin(pool, sizeof(big), &tx), 0);
	assert_int_equal(pm_fault_arm("msync", 1, 0), 0);
	/* 256 KiB: streamed, so written back while staged */
	assert_int_equal(pm_tx_write(tx, d, big, sizeof(big)),
			 pm_fault_errno("msync"));
	assert_int_equal(pm_fault_hits(), 1);
	pm_fault_disarm();
	pm_tx_abort(tx);
	assert_int_equal(pm_log_append(plog, "a", 1, NULL), 0);
	assert_int_equal(pm_log_append(plog, "b", 1, NULL), 0);
	assert_int_equal(walk_count(plog), 2);
	close_release(0);
}

/* A failed pm_flush() is reported by the thread's pm_drain(), not by a
 * log append made in between (which must not swallow it either). */
static void test_log_append_between_flush_and_drain(void **state)
{
	const struct pm_map *m;
	char *d;

	(void)state;
	make_golden();
	open_before();
	if (no_msync())
		skip();
	m = pm_pool_map(pool);
	d = pm_pool_data(pool, NULL);
	d[0] = 1;
	assert_int_equal(pm_fault_arm("msync", 1, 0), 0);
	pm_flush(m, d, 1);
	assert_int_equal(pm_fault_hits(), 1);
	pm_fault_disarm();
	assert_int_equal(pm_log_append(plog, "a", 1, NULL), 0);
	assert_int_equal(pm_drain(m), pm_fault_errno("msync"));
	assert_int_equal(pm_drain(m), 0);
	assert_int_equal(pm_log_append(plog, "b", 1, NULL), 0);
	close_release(0);
}

/* An append that failed is not acknowledged: walks do not show it, the
 * log takes no more appends, and a reopen finds it whole or not at all. */
static void test_log_walk_after_failed_append(void **state)
{
	unsigned char buf[MAX_REC];

	(void)state;
	make_golden();
	open_before();
	if (no_msync())
		skip();
	rec_fill(NREC, buf);
	assert_int_equal(pm_fault_arm("msync", 1, 0), 0);
	assert_int_equal(pm_log_append(plog, buf, rec_len(NREC), NULL),
			 pm_fault_errno("msync"));
	assert_int_equal(pm_fault_hits(), 1);
	pm_fault_disarm();
	assert_int_equal(walk_count(plog), NREC);
	rec_fill(NREC + 1, buf);
	assert_int_equal(pm_log_append(plog, buf, rec_len(NREC + 1), NULL),
			 pm_fault_errno("msync"));
	assert_int_equal(walk_count(plog), NREC);
	close_release(0);
	assert_log(0, NREC, 0, NREC + 1, 0);
	/* reopened: appends again */
	assert_int_equal(pm_pool_open(fault_path, 0, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &plog), 0);
	assert_int_equal(pm_log_append(plog, "c", 1, NULL), 0);
	close_release(0);
}

/* An append that wraps the ring writes back two ranges (the wrap mark at
 * the old tail, then the record at 0): a failure of the first msync fails
 * the append although the second and the fence succeed, and the record is
 * not acknowledged. */
static void test_log_wrap_append_first_msync_fails(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = LOG_SIZE };
	static unsigned char rec[4000];
	struct pm_log_info li;
	uint64_t seq = 0;
	unsigned n = 0;

	(void)state;
	unlink(fault_path);
	assert_int_equal(pm_pool_create(fault_path, POOL_SIZE, &o, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &plog), 0);
	if (no_msync())
		skip();
	/* fill the ring, then free its start: the next record wraps */
	do {
		assert_int_equal(pm_log_append(plog, rec, sizeof(rec), &seq),
				 0);
		assert_int_equal(pm_log_get_info(plog, &li), 0);
	} while (li.capacity - li.used >= 2 * sizeof(rec));
	while (li.capacity - li.used < 3 * sizeof(rec)) {
		assert_int_equal(pm_log_truncate(plog, li.first_seq), 0);
		assert_int_equal(pm_log_get_info(plog, &li), 0);
	}
	assert_int_equal(pm_log_append(plog, rec, sizeof(rec), &seq), 0);
	assert_int_equal(pm_log_get_info(plog, &li), 0);
	n = (unsigned)li.nrecords;
	assert_int_equal(pm_fault_arm("msync", 1, 0), 0);
	assert_int_equal(pm_log_append(plog, rec, sizeof(rec), NULL),
			 pm_fault_errno("msync"));
	assert_int_equal(pm_fault_hits(), 1);
	assert_true(pm_fault_calls("msync") >= 2);
	pm_fault_disarm();
	assert_int_equal(walk_count(plog), n);
	close_release(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_log_pool),
		cmocka_unit_test(test_fault_log_ops),
		cmocka_unit_test(test_log_append_after_failed_tx_write),
		cmocka_unit_test(test_log_append_between_flush_and_drain),
		cmocka_unit_test(test_log_walk_after_failed_append),
		cmocka_unit_test(test_log_wrap_append_first_msync_fails),
	};

	alarm(300); /* a loop instead of an error fails the test */
	return cmocka_run_group_tests(tests, fault_setup, fault_teardown);
}
