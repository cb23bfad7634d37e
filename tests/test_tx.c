/* SPDX-License-Identifier: BSD-3-Clause */
/* test_tx.c - redo-log transactions: semantics, space, recovery, fences. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fences.h"
#include "libpm.h"
#include "open.h"
#include "pool.h"
#include "lane.h"
#include "redo.h"
#include "testhook.h"
#include "tmpdir.h"

#define POOL_SIZE (8UL << 20)

static char path[256];
static struct pm_pool *pool;
static uint8_t *data;
static size_t dsize;

static void make(unsigned nlanes, size_t lane_size)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = nlanes,
				  .lane_size = lane_size };

	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &pool), 0);
	data = pm_pool_data(pool, &dsize);
}

static void reopen(void)
{
	pm_pool_close(pool);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
}

static uint64_t replayed(void)
{
	struct pm_pool_info info;

	assert_int_equal(pm_pool_info(pool, &info), 0);
	return info.tx_replayed;
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "%s/test_tx.%d", test_tmpdir("/dev/shm"),
		 getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	pm_set_log_level(getenv("PM_LOG") ? 4 : 0);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	make(0, 0);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	pm_pool_close(pool);
	pool = NULL;
	unlink(path);
	return 0;
}

static int tx_put(size_t off, const void *src, size_t len)
{
	struct pm_tx *tx;
	int ret = pm_tx_begin(pool, len, &tx);

	if (ret)
		return ret;
	ret = pm_tx_write(tx, data + off, src, len);
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

static void test_tx_commit_durable(void **state)
{
	char buf[300];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(tx_put(100, buf, sizeof(buf)), 0);
	assert_memory_equal(data + 100, buf, sizeof(buf));
	reopen();
	assert_memory_equal(data + 100, buf, sizeof(buf));
	assert_int_equal(replayed(), 0);
}

static void test_tx_abort_discards(void **state)
{
	struct pm_tx *tx;
	uint64_t v = 42;

	(void)state;
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	assert_int_equal(pm_tx_write(tx, data, &v, sizeof(v)), 0);
	pm_tx_abort(tx);
	pm_tx_abort(tx); /* ended: ignored */
	assert_int_equal(*(uint64_t *)data, 0);
	assert_int_equal(pm_tx_commit(tx), -EINVAL);
	reopen();
	assert_int_equal(*(uint64_t *)data, 0);
	assert_int_equal(replayed(), 0);
}

static void test_tx_read_own_writes(void **state)
{
	struct pm_tx *tx;
	char out[32], want[32];

	(void)state;
	memset(data, '.', 32);
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	assert_int_equal(pm_tx_write(tx, data + 4, "AAAAAAAA", 8), 0);
	assert_int_equal(pm_tx_write(tx, data + 8, "BBB", 3), 0);
	assert_int_equal(pm_tx_read(tx, out, data, sizeof(out)), 0);
	memset(want, '.', sizeof(want));
	memcpy(want + 4, "AAAABBBA", 8);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(data[4], '.'); /* not visible before commit */
	assert_int_equal(pm_tx_read(tx, out, data + dsize - 4, 8), -EINVAL);
	assert_int_equal(pm_tx_commit(tx), 0);
	assert_memory_equal(data, want, sizeof(want));
}

static void test_tx_write_outside_data(void **state)
{
	struct pm_tx *tx;
	uint64_t v = 1;

	(void)state;
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	assert_int_equal(pm_tx_write(tx, data - 8, &v, sizeof(v)), -EINVAL);
	assert_int_equal(pm_tx_write(tx, data, &v, sizeof(v)), PM_E_TX_FAILED);
	assert_int_equal(pm_tx_commit(tx), PM_E_TX_FAILED);
	assert_int_equal(*(uint64_t *)data, 0);
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	assert_int_equal(pm_tx_write(tx, data + dsize - 4, &v, 8), -EINVAL);
	pm_tx_abort(tx);
	assert_int_equal(pm_tx_begin(pool, 64, &tx), 0);
	assert_int_equal(pm_tx_write(tx, data + dsize - 8, &v, 8), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
}

static void test_tx_begin_too_big(void **state)
{
	struct pm_tx *tx;
	struct pm_pool_info info;

	(void)state;
	assert_int_equal(pm_pool_info(pool, &info), 0);
	assert_int_equal(pm_tx_begin(pool, info.lane_size, &tx), -ENOSPC);
	assert_int_equal(pm_tx_begin(pool, SIZE_MAX, &tx), -ENOSPC);
	assert_int_equal(pm_tx_begin(pool, info.lane_size / 2, &tx), 0);
	pm_tx_commit(tx);
}

static void test_tx_write_past_reservation(void **state)
{
	static char big[8192];
	struct pm_tx *tx;

	(void)state;
	pm_pool_close(pool);
	make(4, 8192); /* rings of 8128 bytes */
	memset(big, 'x', sizeof(big));
	/* Extends past a small reservation while the lane has room. */
	assert_int_equal(pm_tx_begin(pool, 16, &tx), 0);
	assert_int_equal(pm_tx_write(tx, data, big, 4000), 0);
	/* Past the lane: fails, and the transaction with it. */
	assert_int_equal(pm_tx_write(tx, data + 4000, big, 4100), -ENOSPC);
	assert_int_equal(pm_tx_write(tx, data, big, 8), PM_E_TX_FAILED);
	assert_int_equal(pm_tx_commit(tx), PM_E_TX_FAILED);
	assert_int_equal(data[0], 0);
	/* A reservation is honoured even when the lane must be reclaimed. */
	for (int i = 0; i < 50; i++) {
		big[0] = (char)i;
		assert_int_equal(tx_put(0, big, 3000), 0);
	}
	assert_int_equal(data[0], 49);
	reopen();
	assert_int_equal(data[0], 49);
	assert_int_equal(data[2999], 'x');
}

static void test_tx_begin_nested_busy(void **state)
{
	struct pm_tx *tx, *tx2;

	(void)state;
	assert_int_equal(pm_tx_begin(pool, 0, &tx), 0);
	assert_int_equal(pm_tx_begin(pool, 0, &tx2), -EBUSY);
	pm_tx_abort(tx);
	assert_int_equal(pm_tx_begin(pool, 0, &tx2), 0);
	assert_int_equal(pm_tx_commit(tx2), 0); /* empty: nothing to do */
}

static pthread_barrier_t bar;

static void *hold_lane(void *arg)
{
	struct pm_tx *tx;

	*(int *)arg = pm_tx_begin(pool, 0, &tx);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	if (*(int *)arg == 0)
		pm_tx_abort(tx);
	return NULL;
}

static void *use_foreign(void *arg)
{
	struct pm_tx *tx = arg;
	uint64_t v = 1;

	return (void *)(intptr_t)pm_tx_write(tx, data, &v, 8);
}

static void test_tx_begin_lanes_exhausted(void **state)
{
	pthread_t t[2];
	struct pm_tx *tx;
	int r[2];
	void *res;

	(void)state;
	pm_pool_close(pool);
	make(2, 8192);
	pthread_barrier_init(&bar, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, hold_lane, &r[i]);
	pthread_barrier_wait(&bar);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	assert_int_equal(pm_tx_begin(pool, 0, &tx), -EBUSY);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	assert_int_equal(pm_tx_begin(pool, 0, &tx), 0);
	/* A transaction belongs to the thread that began it. */
	pthread_create(&t[0], NULL, use_foreign, tx);
	pthread_join(t[0], &res);
	assert_int_equal((intptr_t)res, -EINVAL);
	pm_tx_abort(tx);
}

/* Many laps of a small ring, with reopen in between. */
static void test_tx_commit_ring_wraps(void **state)
{
	uint64_t v[5];

	(void)state;
	pm_pool_close(pool);
	make(4, 4096);
	for (uint64_t i = 1; i <= 3000; i++) {
		for (int k = 0; k < 5; k++)
			v[k] = i * 10 + (uint64_t)k;
		assert_int_equal(tx_put((i % 7) * 64, v, (i % 5 + 1) * 8), 0);
		if (i % 1000 == 0)
			reopen();
	}
	for (uint64_t i = 2994; i <= 3000; i++)
		assert_int_equal(*(uint64_t *)(data + (i % 7) * 64), i * 10);
	assert_int_equal(replayed(), 0);
}

/* ---- recovery: children that die right after the commit fence ---- */

static uint64_t data_off;

/* Close the pool, run @fn in a child that opens it and dies without
 * closing, reopen. */
/* @skip_apply: commits in the child are not applied, as if it died right
 * after each commit's fence. */
static void in_child_as(void (*fn)(void), int skip_apply)
{
	struct pm_pool_info info;
	pid_t pid;
	int st;

	assert_int_equal(pm_pool_info(pool, &info), 0);
	data_off = info.data_offset;
	pm_pool_close(pool);
	pool = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (pm_pool_open(path, 0, &pool))
			_exit(2);
		data = pm_pool_data(pool, &dsize);
		pm_tx_test_skip_apply = skip_apply;
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void in_child(void (*fn)(void))
{
	in_child_as(fn, 1);
}

static uint64_t raw64(uint64_t off)
{
	uint64_t v;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
	assert_int_equal(fread(&v, sizeof(v), 1, f), 1);
	fclose(f);
	return v;
}

/* File offset of the ring of the one lane whose ring starts with an
 * entry: the lane a child that committed and died used. */
static uint64_t child_ring(const struct pm_pool_info *info)
{
	uint64_t found = 0, b;
	int hits = 0;

	for (unsigned i = 0; i < info->nlanes; i++) {
		b = info->lanes_offset + i * info->lane_size + 64;
		if ((uint32_t)raw64(b) == PM_REC_RANGE) {
			found = b;
			hits++;
		}
	}
	assert_int_equal(hits, 1);
	return found;
}

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static uint64_t turn;

static void *put_two(void *arg)
{
	uint64_t v = (uint64_t)(uintptr_t)arg;

	pthread_mutex_lock(&turn_lock);
	while (turn != v)
		pthread_cond_wait(&turn_cond, &turn_lock);
	if (tx_put(0, &v, sizeof(v)) || tx_put(4096 + v * 8, &v, sizeof(v)))
		_exit(3);
	turn++;
	pthread_cond_broadcast(&turn_cond);
	/* Stay alive until all have committed: a thread that exited
	 * would hand its lane to the next one. */
	while (turn != 4)
		pthread_cond_wait(&turn_cond, &turn_lock);
	pthread_mutex_unlock(&turn_lock);
	return NULL;
}

/* Three live threads in turn (so three lanes), two commits each. */
static void commit_from_threads(void)
{
	pthread_t t[3];

	turn = 1;
	for (uintptr_t v = 1; v <= 3; v++)
		pthread_create(&t[v - 1], NULL, put_two, (void *)v);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
}

static void test_tx_recovery_replays_in_order(void **state)
{
	(void)state;
	in_child(commit_from_threads);
	assert_int_equal(raw64(data_off), 0); /* logged, never applied */
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), 6);
	assert_int_equal(*(uint64_t *)data, 3); /* seq order across lanes */
	for (uint64_t v = 1; v <= 3; v++)
		assert_int_equal(*(uint64_t *)(data + 4096 + v * 8), v);
	reopen();
	assert_int_equal(replayed(), 0);
	assert_int_equal(*(uint64_t *)data, 3);
}

static void commit_one(void)
{
	uint64_t v = 7;

	if (tx_put(0, &v, sizeof(v)))
		_exit(3);
}

static void begin_no_commit(void)
{
	struct pm_tx *tx;
	uint64_t v = 9;

	if (pm_tx_begin(pool, 8, &tx) || pm_tx_write(tx, data, &v, 8))
		_exit(3);
}

static void test_tx_recovery_discards_torn(void **state)
{
	struct pm_pool_info info;
	uint64_t off;
	FILE *f;
	int hit = 0;

	(void)state;
	assert_int_equal(pm_pool_info(pool, &info), 0);
	in_child(commit_one);
	/* Damage the payload of the one entry, wherever its lane is. */
	f = fopen(path, "r+b");
	assert_non_null(f);
	for (unsigned i = 0; i < info.nlanes; i++) {
		uint32_t type;

		off = info.lanes_offset + i * info.lane_size + 64;
		fseek(f, (long)off, SEEK_SET);
		assert_int_equal(fread(&type, 4, 1, f), 1);
		if (type != PM_REC_RANGE)
			continue;
		fseek(f, (long)off + 24, SEEK_SET);
		fputc(8, f); /* 7 -> 8 */
		hit++;
	}
	fclose(f);
	assert_int_equal(hit, 1);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), 0);
	assert_int_equal(*(uint64_t *)data, 0);
}

/* Raise the retired word of the chosen header slots of every lane (as if
 * damaged): unchecked, it would make recovery skip the pending entry. */
static void damage_lane_slots(const struct pm_pool_info *info, int slot0,
			      int slot1)
{
	FILE *f = fopen(path, "r+b");

	assert_non_null(f);
	for (unsigned i = 0; i < info->nlanes; i++) {
		uint64_t off = info->lanes_offset + i * info->lane_size;

		for (int k = 0; k < 2; k++) {
			if (!(k ? slot1 : slot0))
				continue;
			assert_int_equal(
				fseek(f,
				      (long)(off + k * 32 +
					     offsetof(struct pm_lane_slot,
						      retired)),
				      SEEK_SET),
				0);
			assert_int_equal(fputc(0xff, f), 0xff);
		}
	}
	fclose(f);
}

static void test_tx_recovery_one_lane_slot_damaged(void **state)
{
	struct pm_pool_info info;

	(void)state;
	assert_int_equal(pm_pool_info(pool, &info), 0);
	in_child(commit_one);
	damage_lane_slots(&info, 1, 0);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), 1);
	assert_int_equal(*(uint64_t *)data, 7);
	/* Recovery rewrote slot 0: it alone carries the lanes now. */
	pm_pool_close(pool);
	damage_lane_slots(&info, 0, 1);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), 0);
	assert_int_equal(*(uint64_t *)data, 7);
}

static void test_tx_recovery_both_lane_slots_damaged(void **state)
{
	struct pm_pool_info info;

	(void)state;
	assert_int_equal(pm_pool_info(pool, &info), 0);
	in_child(commit_one);
	damage_lane_slots(&info, 1, 1);
	assert_int_equal(pm_pool_open(path, 0, &pool), PM_E_CORRUPT);
	assert_null(pool);
	assert_int_equal(raw64(info.data_offset), 0); /* nothing applied */
}

static void test_tx_recovery_discards_uncommitted(void **state)
{
	(void)state;
	in_child(begin_no_commit);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), 0);
	assert_int_equal(*(uint64_t *)data, 0);
}

/* A, B, C committed in one lane, then one byte of B's payload flipped. */
static void commit_abc(void)
{
	for (uint64_t v = 1; v <= 3; v++)
		if (tx_put(v * 64, &v, sizeof(v)))
			_exit(3);
}

static char errbuf[512];

static void on_log(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == PM_LOG_ERR)
		snprintf(errbuf, sizeof(errbuf), "%s", msg);
}

static void test_tx_recovery_refuses_cut_off(void **state)
{
	struct pm_pool_info info;
	uint64_t b, v = 99;
	char want[64];
	FILE *f;

	(void)state;
	assert_int_equal(pm_pool_info(pool, &info), 0);
	in_child(commit_abc);
	b = child_ring(&info);
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, (long)(b + 64 + 24), SEEK_SET); /* B's payload */
	fputc(0x42, f);
	fclose(f);
	snprintf(want, sizeof(want), "lane %u: committed transaction 3 ",
		 (unsigned)((b - 64 - info.lanes_offset) / info.lane_size));
	/* C (seq 3) is cut off: open refuses, naming lane and seq. */
	pm_set_log_fn(on_log, NULL);
	pm_set_log_level(PM_LOG_ERR);
	assert_int_equal(pm_pool_open(path, 0, &pool), PM_E_CORRUPT);
	pm_set_log_level(getenv("PM_LOG") ? 4 : 0);
	pm_set_log_fn(NULL, NULL);
	assert_non_null(strstr(errbuf, want));
	assert_int_equal(raw64(info.data_offset + 64), 0); /* nothing applied */
	/* Dropping it on purpose: A replayed, B and C gone for good. */
	assert_int_equal(pm_pool_open_discard(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(pool->tx_dropped.n, 1);
	assert_int_equal(pool->tx_dropped.first, 3);
	assert_int_equal(pool->tx_dropped.bytes, 8);
	assert_int_equal(*(uint64_t *)(data + 64), 1);
	assert_int_equal(pm_pool_info(pool, &info), 0);
	assert_true(info.next_seq > 3); /* C's seq is never issued again */
	/* A new transaction over C's home survives reopening. */
	assert_int_equal(tx_put(3 * 64, &v, sizeof(v)), 0);
	reopen();
	assert_int_equal(*(uint64_t *)(data + 3 * 64), 99);
	assert_int_equal(replayed(), 0);
	reopen();
	assert_int_equal(*(uint64_t *)(data + 3 * 64), 99);
}

/* An entry whose checksum holds but whose seq no commit can have (0, or
 * at or past PM_SEQ_MAX) is not a commit: never replayed, never the base
 * of the next seq; the pool goes on working and pmck agrees. */
static void test_tx_recovery_ignores_impossible_seq(void **state)
{
	static const uint64_t bad[] = { 0, PM_SEQ_MAX, UINT64_MAX - 1 };
	uint32_t seed = pool->seed;
	struct pm_pool_info info;
	uint8_t e[64];
	uint64_t b, v = 5;
	FILE *f;

	(void)state;
	assert_int_equal(pm_pool_info(pool, &info), 0);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		in_child(commit_one);
		b = child_ring(&info);
		f = fopen(path, "r+b");
		assert_non_null(f);
		assert_int_equal(fseek(f, (long)b, SEEK_SET), 0);
		assert_int_equal(fread(e, sizeof(e), 1, f), 1);
		/* one 8-byte range (24 + 8), then the commit */
		pm_redo_put_commit(e + 32, 1, bad[k], 64,
				   pm_crc_update(seed, e, 32));
		assert_int_equal(fseek(f, (long)b, SEEK_SET), 0);
		assert_int_equal(fwrite(e, sizeof(e), 1, f), 1);
		fclose(f);
		assert_int_equal(pm_pool_check(path, 0, NULL, NULL), 0);
		assert_int_equal(pm_pool_open(path, 0, &pool), 0);
		data = pm_pool_data(pool, &dsize);
		assert_int_equal(replayed(), 0);
		assert_int_equal(*(uint64_t *)data, 0);
		assert_int_equal(pm_pool_info(pool, &info), 0);
		assert_true(info.next_seq < 100);
		assert_int_equal(tx_put(64, &v, sizeof(v)), 0);
		reopen();
		assert_int_equal(*(uint64_t *)(data + 64), 5);
		/* a new pool: the child's entry at its ring's start */
		pm_pool_close(pool);
		make(0, 0);
		seed = pool->seed;
		assert_int_equal(pm_pool_info(pool, &info), 0);
	}
}

/* A lane's reach (layout.h): a fresh one covers the rest of its header's
 * page; a
 * lane that writes further raises it first, in both slots, so that a
 * crash leaves every committed entry below it, and recovery, which reads
 * only below it, replays them all. */
#define REACH_TX 12 /* 4 KiB each: 48 KiB of ring, below any advance */

static void commit_4k_each(void)
{
	static uint8_t b[4096];

	for (unsigned i = 0; i < REACH_TX; i++) {
		memset(b, (int)(i + 1), sizeof(b));
		if (tx_put((size_t)i * 4096, b, sizeof(b)))
			_exit(3);
	}
}

static void test_tx_reach_raised_before_use(void **state)
{
	struct pm_pool_info info;
	struct pm_lane_slot sl[2];
	uint64_t top = 0;
	FILE *f;

	(void)state;
	pm_pool_close(pool);
	make(1, 1 << 20);
	assert_int_equal(pm_pool_info(pool, &info), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)info.lanes_offset, SEEK_SET), 0);
	assert_int_equal(fread(sl, sizeof(sl), 1, f), 1);
	fclose(f);
	assert_int_equal(sl[0].reach * 64, 4096 - 64);
	assert_int_equal(sl[1].reach * 64, 4096 - 64);
	in_child(commit_4k_each); /* none applied: all replayed */
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)info.lanes_offset, SEEK_SET), 0);
	assert_int_equal(fread(sl, sizeof(sl), 1, f), 1);
	fclose(f);
	top = PM_MIN(sl[0].reach, sl[1].reach) * 64ULL;
	assert_true(top >= REACH_TX * 4096);
	assert_true(top <= info.lane_size - 64);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), REACH_TX);
	for (unsigned i = 0; i < REACH_TX; i++) {
		assert_int_equal(data[i * 4096], (uint8_t)(i + 1));
		assert_int_equal(data[i * 4096 + 4095], (uint8_t)(i + 1));
	}
	assert_int_equal(pm_pool_check(path, 0, NULL, NULL), -EBUSY);
}

/* ---- threads ---- */

#define NTHREADS 4
#define PER_THREAD 2000

static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	uint64_t mine, total;
	struct pm_tx *tx;
	int bad = 0;

	for (int i = 0; i < PER_THREAD; i++) {
		pthread_mutex_lock(&total_lock);
		bad |= pm_tx_begin(pool, 16, &tx);
		bad |= pm_tx_read(tx, &total, data, 8);
		bad |= pm_tx_read(tx, &mine, data + 64 * (t + 1), 8);
		total++;
		mine++;
		bad |= pm_tx_write(tx, data, &total, 8);
		bad |= pm_tx_write(tx, data + 64 * (t + 1), &mine, 8);
		bad |= pm_tx_commit(tx);
		pthread_mutex_unlock(&total_lock);
	}
	return (void *)(intptr_t)bad;
}

static void check_counts(void)
{
	assert_int_equal(*(uint64_t *)data, NTHREADS * PER_THREAD);
	for (int t = 0; t < NTHREADS; t++)
		assert_int_equal(*(uint64_t *)(data + 64 * (t + 1)),
				 PER_THREAD);
}

static void test_tx_commit_threads_exact(void **state)
{
	pthread_t t[NTHREADS];
	void *res;

	(void)state;
	pm_pool_close(pool);
	make(NTHREADS, 8192); /* small rings: reclaimed many times */
	for (uintptr_t i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &res);
		assert_null(res);
	}
	check_counts();
	reopen();
	check_counts();
}

#define ROUNDS 300

/* Thread @arg of three: its transaction of every round, in turn. */
static void *in_turn(void *arg)
{
	uint64_t me = (uint64_t)(uintptr_t)arg, v;
	intptr_t bad = 0;

	for (uint64_t r = 0; r < ROUNDS; r++) {
		pthread_mutex_lock(&turn_lock);
		while (turn != r * 3 + me)
			pthread_cond_wait(&turn_cond, &turn_lock);
		pthread_mutex_unlock(&turn_lock);
		v = r + 1;
		bad |= tx_put(64 * (me + 1), &v, 8);
		v = r * 3 + me + 1;
		bad |= tx_put(0, &v, 8);
		pthread_mutex_lock(&turn_lock);
		turn++;
		pthread_cond_broadcast(&turn_cond);
		pthread_mutex_unlock(&turn_lock);
	}
	return (void *)bad;
}

/* Three live threads in turn on two lanes: each round one of them has no
 * lane and takes over one whose holder is between transactions.  Nothing
 * is lost, nothing is replayed out of order. */
static void test_tx_begin_takes_idle_lanes(void **state)
{
	pthread_t t[3];
	void *res;

	(void)state;
	pm_pool_close(pool);
	make(2, 8192);
	turn = 0;
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, in_turn, (void *)i);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], &res);
		assert_null(res);
	}
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(*(uint64_t *)data, 3 * ROUNDS);
		for (int i = 1; i <= 3; i++)
			assert_int_equal(*(uint64_t *)(data + 64 * i), ROUNDS);
		reopen();
	}
}

/* ---- fences ---- */

/* @ntx commits; *owedp: the fences they owe (fences.h). */
static uint64_t fences_for(int ntx, int nranges, size_t len, uint64_t *owedp)
{
	static char buf[4096];
	struct pm_stats st;
	struct pm_tx *tx;
	uint64_t nt = 0;

	pm_stats_reset();
	*owedp = 0;
	for (int i = 0; i < ntx; i++) {
		size_t off = ((size_t)rand() % (dsize / 4096 - 1)) * 4096;

		assert_int_equal(pm_tx_begin(pool, len * nranges, &tx), 0);
		for (int k = 0; k < nranges; k++)
			assert_int_equal(pm_tx_write(tx, data + off + k * 128,
						     buf, len),
					 0);
		assert_int_equal(pm_tx_commit(tx), 0);
		pm_stats_get(&st);
		*owedp += fences_owed(st.bytes_nt - nt);
		nt = st.bytes_nt;
	}
	return st.fences;
}

static void test_tx_commit_one_fence(void **state)
{
	uint64_t one, eight, page, owed[3];

	(void)state;
	srand(1);
	/* Steady state: rings lapped, and each lane's reach grown to what
	 * the shape needs (two fences per doubling, a few in a lane's life,
	 * see layout.h) before it is counted. */
	fences_for(2000, 1, 64, &owed[0]);
	one = fences_for(5000, 1, 64, &owed[0]);
	fences_for(2000, 8, 64, &owed[1]);
	eight = fences_for(5000, 8, 64, &owed[1]);
	fences_for(500, 1, 4096, &owed[2]);
	page = fences_for(2000, 1, 4096, &owed[2]);
	print_message("fences: %.2f per 64 B tx, %.2f per 8 x 64 B tx, "
		      "%.2f per 4 KiB tx (%s)\n",
		      one / 5000.0, eight / 5000.0, page / 2000.0,
		      pm_flush_method());
	assert_int_equal(one, owed[0]);
	assert_int_equal(eight, owed[1]);
	assert_int_equal(page, owed[2]);
}

static void *commit_and_leave(void *arg)
{
	uint64_t v = 5;

	(void)arg;
	return (void *)(intptr_t)tx_put(8, &v, 8);
}

/* A lane left with an entry whose application is not known durable is
 * retired by the thread that needs the space; then 1 fence again. */
/* Bytes streamed by a transaction writing @len bytes at 4096. */
static uint64_t put_nt(size_t len)
{
	static char buf[8192];
	struct pm_stats st;

	memset(buf, (int)len, len);
	pm_stats_reset();
	assert_int_equal(tx_put(4096, buf, len), 0);
	pm_stats_get(&st);
	assert_memory_equal(data + 4096, buf, len);
	return st.bytes_nt;
}

/* Bytes the entry of a one-range transaction of @len bytes streams into
 * the ring at commit: built in the lane's shadow, it goes out as whole
 * lines. */
static uint64_t entry_nt(size_t len)
{
	uint64_t n = sizeof(struct pm_tx_range) + PM_ALIGN_UP(len, 8) +
		     sizeof(struct pm_tx_commit);

	return pm_arch.memcpy_nt ? PM_ALIGN_UP(n, 64) : 0;
}

/* Payloads are staged cached below 64 KiB (or the CPU's threshold, if
 * higher), unless PM_MOVNT_THRESHOLD says where (libpm(7)).  A 4 KiB
 * payload does not fit the shadow with its records: its entry is written
 * in the ring (cached) and written back; a 200 B one's entry is streamed
 * from the shadow, its lines and nothing else. */
static void test_tx_write_nt_threshold(void **state)
{
	(void)state;
	if (!pm_arch.memcpy_nt)
		skip();
	assert_int_equal(put_nt(4096), 0);
	setenv("PM_MOVNT_THRESHOLD", "256", 1);
	pm_arch_reinit();
	assert_true(put_nt(4096) >= 4096 - 64);
	assert_int_equal(put_nt(200), entry_nt(200));
	unsetenv("PM_MOVNT_THRESHOLD");
	pm_arch_reinit();
	reopen(); /* the streamed and the cached writes both there */
	assert_int_equal((uint8_t)data[4096 + 199], 200);
	assert_int_equal(data[4096 + 200], 0); /* 4096 & 0xff */
}

/* 100 writes of 64 B, each at its own line of page @page, value @v + k
 * (write k); the transaction is read back through pm_tx_read() before
 * each write.  Their records pass the lane's shadow (PM_TX_SHADOW) about
 * half way, so the entry spills into the ring. */
static struct pm_tx *spill_tx(size_t page, uint8_t v)
{
	uint8_t buf[64], got[64];
	struct pm_tx *tx;

	assert_int_equal(pm_tx_begin(pool, 100 * (64 + 24), &tx), 0);
	for (int k = 0; k < 100; k++) {
		if (k) { /* the first write and the one before it */
			assert_int_equal(pm_tx_read(tx, got, data + page * 4096,
						    64),
					 0);
			assert_int_equal(got[63], v);
			assert_int_equal(pm_tx_read(tx, got,
						    data + page * 4096 +
							    (k - 1) * 64,
						    64),
					 0);
			assert_int_equal(got[0], (uint8_t)(v + k - 1));
		}
		memset(buf, v + k, sizeof(buf));
		assert_int_equal(pm_tx_write(tx, data + page * 4096 + k * 64,
					     buf, 64),
				 0);
	}
	return tx;
}

static void spill_commit(void)
{
	if (pm_tx_commit(spill_tx(4, 50)))
		_exit(3);
}

/* An entry larger than the shadow commits, aborts and recovers whole. */
static void test_tx_entry_spills(void **state)
{
	_Static_assert(100 * (64 + 24) > PM_TX_SHADOW && 100 * 64 <= 2 * 4096,
		       "spill_tx must spill, within pages 4 and 5");
	(void)state;
	assert_int_equal(pm_tx_commit(spill_tx(4, 1)), 0);
	pm_tx_abort(spill_tx(4, 7));
	for (int k = 0; k < 100; k++)
		assert_int_equal(data[4 * 4096 + k * 64 + 63], 1 + k);
	reopen();
	for (int k = 0; k < 100; k++)
		assert_int_equal(data[4 * 4096 + k * 64], 1 + k);
	/* committed, never applied: recovery replays it whole */
	in_child(spill_commit);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(replayed(), 1);
	for (int k = 0; k < 100; k++)
		assert_int_equal(data[4 * 4096 + k * 64 + 32], 50 + k);
}

static void test_tx_commit_retires_idle_lane(void **state)
{
	pthread_t t;
	void *res;
	uint64_t v;
	struct pm_stats st;

	(void)state;
	pm_pool_close(pool);
	make(4, 4096);
	pthread_create(&t, NULL, commit_and_leave, NULL);
	pthread_join(t, &res);
	assert_null(res);
	for (v = 0; v < 500; v++)
		assert_int_equal(tx_put(64, &v, 8), 0);
	pm_stats_reset();
	for (v = 0; v < 500; v++)
		assert_int_equal(tx_put(64, &v, 8), 0);
	pm_stats_get(&st);
	assert_int_equal(st.bytes_nt, 500 * entry_nt(8));
	assert_int_equal(st.fences, 500 * fences_owed(entry_nt(8)));
	reopen();
	assert_int_equal(*(uint64_t *)(data + 8), 5);
	assert_int_equal(*(uint64_t *)(data + 64), 499);
}

static void *put_other(void *arg)
{
	uint64_t v = 6;

	(void)arg;
	assert_int_equal(tx_put(4096, &v, sizeof(v)), 0);
	return NULL;
}

/* What a child forked after open gets from the parent's handles: 0 when
 * each refuses with the right code and changes nothing. */
static int forked_child(struct pm_tx *inherited, struct pm_log *log)
{
	struct pm_tx *tx;
	uint64_t v = 7;

	if (pm_tx_begin(pool, 8, &tx) != PM_E_FORKED)
		return 1;
	if (pm_tx_write(inherited, data, &v, sizeof(v)) != -EINVAL ||
	    pm_tx_commit(inherited) != -EINVAL)
		return 2;
	if (pm_log_append(log, &v, sizeof(v), NULL) != PM_E_FORKED)
		return 3;
	if (strcmp(pm_strerror(PM_E_FORKED), "unknown error") == 0)
		return 4;
	pm_pool_close(pool); /* frees only: the file is the parent's */
	return 0;
}

/* fork() after open: the child cannot commit into the parent's lanes (it
 * would reuse the seq and ring space of the parent's next commit); the
 * parent goes on, its open transaction included. */
static void test_tx_fork_child_refused(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = 64 << 10 };
	uint64_t one = 1, two = 2, s;
	struct pm_map *map;
	uint8_t *snap;
	struct pm_log *log;
	struct pm_tx *tx;
	pid_t pid;
	int st;

	(void)state;
	pm_pool_close(pool);
	unlink(path);
	assert_int_equal(pm_pool_create(path, POOL_SIZE, &o, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	assert_int_equal(tx_put(0, &one, sizeof(one)), 0);
	assert_int_equal(pm_tx_begin(pool, 8, &tx), 0);
	map = pm_pool_map(pool);
	snap = malloc(pm_map_size(map));
	assert_non_null(snap);
	memcpy(snap, pm_map_addr(map), pm_map_size(map));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(forked_child(tx, log));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The child wrote nothing to the pool, its close included. */
	assert_memory_equal(snap, pm_map_addr(map), pm_map_size(map));
	free(snap);
	assert_int_equal(pm_tx_write(tx, data + 8, &two, sizeof(two)), 0);
	assert_int_equal(pm_tx_commit(tx), 0);
	assert_int_equal(pm_log_append(log, &two, sizeof(two), &s), 0);
	assert_int_equal(s, 1);
	reopen();
	assert_int_equal(*(uint64_t *)data, 1);
	assert_int_equal(*(uint64_t *)(data + 8), 2);
}

/*
 * In a child that dies without closing (recovery then replays what is not
 * retired): a transaction writes 1 at data[0], pm_tx_retire() if @retire,
 * a direct pm_persist() writes 2 there, three transactions write
 * elsewhere.  Returns what data[0] holds after the reopen.
 */
static int direct_retire;

static void direct_child(void)
{
	uint64_t one = 1, two = 2;

	if (tx_put(0, &one, sizeof(one)) ||
	    (direct_retire && pm_tx_retire(pool)))
		_exit(3);
	*(uint64_t *)data = two;
	if (pm_persist(pm_pool_map(pool), data, sizeof(two)))
		_exit(4);
	for (uint64_t k = 0; k < 3; k++)
		if (tx_put(64 + 8 * k, &k, sizeof(k)))
			_exit(5);
}

static uint64_t direct_after_tx(int retire)
{
	direct_retire = retire;
	in_child_as(direct_child, 0);
	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	data = pm_pool_data(pool, &dsize);
	return *(uint64_t *)data;
}

/* Without the call replay puts the transaction's 1 back over the direct
 * write; after it, never. */
static void test_tx_retire_then_direct_write(void **state)
{
	(void)state;
	assert_int_equal(direct_after_tx(0), 1);
	assert_int_equal(direct_after_tx(1), 2);
}

/* Its cost: three fences with every lane holding an unretired entry
 * (none where the CPU's flush orders itself, see fences.h). */
/* The wait of the retire loops (pm_tx_retire(), a lane out of room): a
 * watermark that stays below with nothing in flight is "stuck" on the
 * second pass, never waited on; one that moves between passes is not. */
static void test_tx_wait_progress_stuck(void **state)
{
	uint64_t v = 7, last = PM_SEQ_NONE, w;

	(void)state;
	assert_int_equal(tx_put(0, &v, 8), 0);
	w = pm_lanes_watermark(pool);
	/* a seq no commit reached: the watermark cannot pass it */
	assert_int_equal(pm_lanes_wait_progress(pool, w + 100, &last), 0);
	assert_int_equal(last, w);
	assert_int_equal(pm_lanes_wait_progress(pool, w + 100, &last), 1);
	/* the watermark moved since: not stuck, the new one remembered */
	last = w - 1;
	assert_int_equal(pm_lanes_wait_progress(pool, w + 100, &last), 0);
	assert_int_equal(last, w);
}

static void test_tx_retire_cost(void **state)
{
	uint64_t v = 5;
	struct pm_stats st;
	struct timespec t0, t1;
	pthread_t t;
	struct pm_tx *tx;

	(void)state;
	assert_int_equal(tx_put(0, &v, sizeof(v)), 0);
	/* another lane with an entry not yet written back */
	assert_int_equal(pthread_create(&t, NULL, put_other, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(pm_tx_begin(pool, 8, &tx), 0);
	assert_int_equal(pm_tx_retire(pool), -EBUSY);
	pm_tx_abort(tx);
	pm_stats_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pm_tx_retire(pool), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pm_stats_get(&st);
	/* the homes, then each lane-header slot under its own fence */
	assert_int_equal(st.fences, 3 * fences_owed(0));
	printf("# pm_tx_retire: %llu fences, %llu flushes, %.1f us\n",
	       (unsigned long long)st.fences, (unsigned long long)st.flushes,
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		(double)(t1.tv_nsec - t0.tv_nsec)) /
		       1e3);
	reopen();
	assert_int_equal(replayed(), 0);
	assert_int_equal(*(uint64_t *)data, 5);
	assert_int_equal(*(uint64_t *)(data + 4096), 6);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, each_setup, each_teardown)
	const struct CMUnitTest tests[] = {
		T(test_tx_commit_durable),
		T(test_tx_abort_discards),
		T(test_tx_read_own_writes),
		T(test_tx_write_outside_data),
		T(test_tx_begin_too_big),
		T(test_tx_write_past_reservation),
		T(test_tx_begin_nested_busy),
		T(test_tx_begin_lanes_exhausted),
		T(test_tx_commit_ring_wraps),
		T(test_tx_recovery_replays_in_order),
		T(test_tx_recovery_discards_torn),
		T(test_tx_recovery_discards_uncommitted),
		T(test_tx_recovery_one_lane_slot_damaged),
		T(test_tx_recovery_both_lane_slots_damaged),
		T(test_tx_recovery_refuses_cut_off),
		T(test_tx_recovery_ignores_impossible_seq),
		T(test_tx_reach_raised_before_use),
		T(test_tx_commit_threads_exact),
		T(test_tx_begin_takes_idle_lanes),
		T(test_tx_commit_one_fence),
		T(test_tx_entry_spills),
		T(test_tx_write_nt_threshold),
		T(test_tx_commit_retires_idle_lane),
		T(test_tx_fork_child_refused),
		T(test_tx_retire_then_direct_write),
		T(test_tx_wait_progress_stuck),
		T(test_tx_retire_cost),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
