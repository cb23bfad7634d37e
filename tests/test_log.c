/* SPDX-License-Identifier: BSD-3-Clause */
/* test_log.c - the append log on a raw area: format, append, walk,
 * truncate, wrap-around and recovery from damaged or stale records. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fences.h"
#include "libpm.h"
#include "log.h"
#include "racer.h"
#include "testhook.h"
#include "tmpdir.h"

#define MAP_SIZE (1U << 20)
#define AREA_OFF 4096
#define SEED 0x5eed1234U

struct fixture {
	char path[256];
	struct pm_map *map;
	uint8_t *area;
	uint64_t size;
	struct pm_log *log;
};

static struct fixture fx;

/* Payload of record @seq: its length and bytes follow from the seq. */
static size_t pay_len(uint64_t seq, size_t max)
{
	return (size_t)((seq * 2654435761U) % (max + 1));
}

static void pay_fill(uint8_t *buf, uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i * 7);
}

static int pay_ok(const uint8_t *buf, uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != (uint8_t)(seq * 31 + i * 7))
			return 0;
	return 1;
}

static void log_reopen(void)
{
	pm_log_area_close(fx.log);
	fx.log = NULL;
	assert_int_equal(pm_log_area_open(fx.map, fx.area, fx.size, SEED,
					  &fx.log),
			 0);
}

static void log_make(uint64_t size)
{
	pm_log_area_close(fx.log);
	fx.log = NULL;
	fx.size = size;
	memset(fx.area, 0xa5, size); /* old bytes must not matter */
	assert_int_equal(pm_log_area_format(fx.map, fx.area, size, SEED), 0);
	log_reopen();
}

static int setup(void **state)
{
	(void)state;
	snprintf(fx.path, sizeof(fx.path), "%s/test_log.%d",
		 test_tmpdir("/dev/shm"), getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	if (pm_map_file(fx.path, MAP_SIZE, PM_MAP_CREATE, &fx.map))
		return -1;
	fx.area = (uint8_t *)pm_map_addr(fx.map) + AREA_OFF;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pm_log_area_close(fx.log);
	fx.log = NULL;
	pm_unmap(fx.map);
	unlink(fx.path);
	return 0;
}

/* Walk checker: records must be consecutive and carry their payload. */
struct expect {
	uint64_t next; /* seq the next record must have */
	uint64_t count;
	size_t max;    /* pay_len() bound used by the writer */
	int fixed_len; /* or every record has this length (>= 0);
			 * -2: test_log_walk_wrap_over_torn's lengths */
};

static int check_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct expect *e = arg;
	size_t want = e->fixed_len >= 0 ? (size_t)e->fixed_len :
					  pay_len(seq, e->max);

	if (e->fixed_len == -2)
		want = seq == 61 ? 200 : 40;

	if (seq != e->next || len != want || !pay_ok(rec, seq, len))
		return -1000;
	e->next++;
	e->count++;
	return 0;
}

static uint64_t append_seq(uint64_t seq_hint, size_t len)
{
	static uint8_t buf[1 << 17];
	uint64_t seq;

	pay_fill(buf, seq_hint, len);
	assert_int_equal(pm_log_append(fx.log, buf, len, &seq), 0);
	assert_int_equal(seq, seq_hint);
	return seq;
}

static void expect_records(uint64_t first, uint64_t n, size_t max, int fixed)
{
	struct expect e = { .next = first, .max = max, .fixed_len = fixed };

	assert_int_equal(pm_log_walk(fx.log, 0, check_cb, &e), 0);
	assert_int_equal(e.count, n);
}

static const size_t rt_sizes[] = { 0,	 1,    7,    8,	    9,	  23,  24,
				   63,	 64,   65,   255,   256,  257, 1000,
				   4095, 4096, 4097, 65535, 65536 };

static int sizes_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	uint64_t *n = arg;

	if (seq != *n + 1 || seq > PM_ARRAY_SIZE(rt_sizes) ||
	    len != rt_sizes[seq - 1] || !pay_ok(rec, seq, len))
		return -1000;
	(*n)++;
	return 0;
}

static void test_log_append_round_trip_sizes(void **state)
{
	static uint8_t buf[65536];
	struct pm_log_info info;
	uint64_t seq, i, n;

	(void)state;
	log_make(512 << 10);
	for (i = 0; i < PM_ARRAY_SIZE(rt_sizes); i++) {
		pay_fill(buf, i + 1, rt_sizes[i]);
		assert_int_equal(pm_log_append(fx.log, buf, rt_sizes[i], &seq),
				 0);
		assert_int_equal(seq, i + 1);
	}
	for (i = 0; i < 2; i++) {
		n = 0;
		assert_int_equal(pm_log_walk(fx.log, 0, sizes_cb, &n), 0);
		assert_int_equal(n, PM_ARRAY_SIZE(rt_sizes));
		log_reopen(); /* and again after recovery */
	}
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.first_seq, 1);
	assert_int_equal(info.next_seq, PM_ARRAY_SIZE(rt_sizes) + 1);
	assert_int_equal(info.nrecords, PM_ARRAY_SIZE(rt_sizes));
}

/* Walk that stops after the first record, to check one size at a time. */
struct one {
	uint64_t seq;
	size_t len;
	int seen;
};

static int one_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct one *o = arg;

	o->seen = seq == o->seq && len == o->len && pay_ok(rec, seq, len);
	return 1;
}

static void test_log_walk_each_size(void **state)
{
	static const size_t sizes[] = { 0, 1, 17, 64, 256, 4096, 65536 };
	static uint8_t buf[65536];
	uint64_t i, seq;

	(void)state;
	log_make(512 << 10);
	for (i = 0; i < PM_ARRAY_SIZE(sizes); i++) {
		pay_fill(buf, i + 1, sizes[i]);
		assert_int_equal(pm_log_append(fx.log, buf, sizes[i], &seq), 0);
	}
	log_reopen();
	for (i = 0; i < PM_ARRAY_SIZE(sizes); i++) {
		struct one o = { .seq = i + 1, .len = sizes[i] };

		assert_int_equal(pm_log_walk(fx.log, i + 1, one_cb, &o), 1);
		assert_true(o.seen);
	}
}

static void test_log_append_one_fence(void **state)
{
	static uint8_t buf[65536];
	static const size_t sizes[] = { 0, 64, 255, 256, 4096, 65536 };
	struct pm_stats st;
	uint64_t i;

	(void)state;
	log_make(512 << 10);
	for (i = 0; i < PM_ARRAY_SIZE(sizes); i++) {
		pm_stats_reset();
		assert_int_equal(pm_log_append(fx.log, buf, sizes[i], NULL), 0);
		pm_stats_get(&st);
		assert_int_equal(st.fences, fences_owed(st.bytes_nt));
	}
}

static int last_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	size_t *lenp = arg;

	return pay_ok(rec, seq, len) && len == *lenp ? 1 : -1000;
}

/* Bytes streamed by appending @len bytes (the record is then read back). */
static uint64_t append_nt(size_t len)
{
	static uint8_t buf[4096];
	struct pm_stats st;
	uint64_t seq;
	struct pm_log_info info;

	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	pay_fill(buf, info.next_seq, len);
	pm_stats_reset();
	assert_int_equal(pm_log_append(fx.log, buf, len, &seq), 0);
	pm_stats_get(&st);
	assert_int_equal(seq, info.next_seq);
	assert_int_equal(st.fences, fences_owed(st.bytes_nt));
	assert_int_equal(pm_log_walk(fx.log, seq, last_cb, &len), 1);
	return st.bytes_nt;
}

/* Payloads stream from the CPU's threshold but never below 1 KiB, unless
 * PM_MOVNT_THRESHOLD says where (libpm(7)). */
static void test_log_append_nt_threshold(void **state)
{
	(void)state;
	log_make(256 << 10);
	if (!pm_arch.memcpy_nt)
		skip();
	assert_int_equal(append_nt(512), 0);
	assert_int_equal(append_nt(PM_MAX(pm_arch.movnt_threshold, 1024) - 1),
			 0);
	assert_true(append_nt(PM_MAX(pm_arch.movnt_threshold, 1024)) > 0);
	setenv("PM_MOVNT_THRESHOLD", "256", 1);
	pm_arch_reinit();
	assert_true(append_nt(512) > 0);
	assert_int_equal(append_nt(255), 0);
	unsetenv("PM_MOVNT_THRESHOLD");
	pm_arch_reinit();
}

static void test_log_append_batch_one_fence(void **state)
{
	static uint8_t bufs[40][3000];
	struct iovec v[40];
	struct pm_stats st;
	uint64_t first, i;

	(void)state;
	log_make(256 << 10);
	for (i = 0; i < 40; i++) {
		v[i].iov_len = pay_len(i + 1, 3000);
		v[i].iov_base = bufs[i];
		pay_fill(bufs[i], i + 1, v[i].iov_len);
	}
	pm_stats_reset();
	assert_int_equal(pm_log_append_batch(fx.log, v, 40, &first), 0);
	pm_stats_get(&st);
	assert_int_equal(st.fences, fences_owed(st.bytes_nt));
	assert_int_equal(first, 1);
	expect_records(1, 40, 3000, -1);
	log_reopen();
	expect_records(1, 40, 3000, -1);
	assert_int_equal(pm_log_append_batch(fx.log, v, 0, &first), -EINVAL);
}

/* Many laps through a small ring with random sizes and truncation. */
static void test_log_truncate_reuse_laps(void **state)
{
	struct pm_log_info info;
	uint64_t seq = 1, first = 1, bytes = 0;
	unsigned r = 12345;

	(void)state;
	log_make(8192);
	while (bytes < 40 * 8192) {
		size_t len = pay_len(seq, 700);
		uint8_t buf[700];
		int ret;

		pay_fill(buf, seq, len);
		ret = pm_log_append(fx.log, buf, len, NULL);
		if (ret == -ENOSPC) {
			r = r * 1103515245 + 12345;
			first += 1 + (r >> 8) % (seq - first);
			assert_int_equal(pm_log_truncate(fx.log, first - 1), 0);
			if ((r >> 4) % 3 == 0)
				log_reopen();
			expect_records(first, seq - first, 700, -1);
			continue;
		}
		assert_int_equal(ret, 0);
		bytes += len;
		seq++;
	}
	log_reopen();
	expect_records(first, seq - first, 700, -1);
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.next_seq, seq);
}

static void test_log_append_full_enospc(void **state)
{
	uint8_t buf[100] = { 0 };
	struct pm_log_info info;
	uint64_t n = 0;
	int ret;

	(void)state;
	log_make(4096);
	while (!(ret = pm_log_append(fx.log, buf, sizeof(buf), NULL)))
		n++;
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(n, (4096 - 64) / 128);
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.nrecords, n);
	/* Nothing was overwritten. */
	assert_int_equal(pm_log_truncate(fx.log, 1), 0);
	assert_int_equal(pm_log_append(fx.log, buf, sizeof(buf), NULL), 0);
	assert_int_equal(pm_log_append(fx.log, buf, sizeof(buf), NULL),
			 -ENOSPC);
	log_reopen();
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.first_seq, 2);
	assert_int_equal(info.nrecords, n);
}

static void test_log_append_too_large(void **state)
{
	static uint8_t buf[8192];
	struct pm_log_info info;
	struct iovec v[2] = { { buf, 3000 }, { buf, 3000 } };

	(void)state;
	log_make(4096);
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.capacity, 4096 - 64);
	assert_int_equal(info.max_record, info.capacity - 24);
	assert_int_equal(pm_log_append(fx.log, buf, info.max_record + 1, NULL),
			 -EFBIG);
	assert_int_equal(pm_log_append_batch(fx.log, v, 2, NULL), -EFBIG);
	/* The largest record fits an empty log, wherever the tail was. */
	assert_int_equal(pm_log_append(fx.log, buf, 100, NULL), 0);
	assert_int_equal(pm_log_append(fx.log, buf, info.max_record, NULL),
			 -ENOSPC);
	assert_int_equal(pm_log_truncate(fx.log, 1), 0);
	assert_int_equal(pm_log_append(fx.log, buf, info.max_record, NULL), 0);
	log_reopen();
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.first_seq, 2);
	assert_int_equal(info.nrecords, 1);
}

/* Ring offset of record @seq of a log written with fixed-length records
 * from offset 0 (no wrap). */
static uint8_t *rec_ptr(uint64_t seq, size_t len)
{
	return fx.area + 64 + (seq - 1) * PM_ALIGN_UP(24 + len, 8);
}

static void torn_tail(size_t damage_off)
{
	uint64_t i;

	log_make(64 << 10);
	for (i = 1; i <= 5; i++)
		append_seq(i, 40);
	rec_ptr(5, 40)[damage_off] ^= 0x10;
	log_reopen();
	expect_records(1, 4, 0, 40);
	/* The torn record's seq is taken by the next append. */
	append_seq(5, 40);
	log_reopen();
	expect_records(1, 5, 0, 40);
}

static void test_log_open_torn_payload(void **state)
{
	(void)state;
	torn_tail(24 + 39);
}

static void test_log_open_torn_crc(void **state)
{
	(void)state;
	torn_tail(20);
}

static void test_log_open_torn_len(void **state)
{
	(void)state;
	torn_tail(16);
}

static void test_log_open_damage_middle_drops_rest(void **state)
{
	uint64_t i;

	(void)state;
	log_make(64 << 10);
	for (i = 1; i <= 6; i++)
		append_seq(i, 40);
	rec_ptr(3, 40)[30] ^= 1;
	log_reopen();
	expect_records(1, 2, 0, 40);
}

static void batch_of_five(uint64_t first)
{
	static uint8_t bufs[5][40];
	struct iovec v[5];
	uint64_t seq, i;

	for (i = 0; i < 5; i++) {
		pay_fill(bufs[i], first + i, 40);
		v[i] = (struct iovec){ bufs[i], 40 };
	}
	assert_int_equal(pm_log_append_batch(fx.log, v, 5, &seq), 0);
	assert_int_equal(seq, first);
}

/* A batch damaged anywhere (as a crash before its fence may leave it) is
 * dropped whole; a batch left whole survives whole. */
static void test_log_open_torn_batch_all_or_nothing(void **state)
{
	static const uint64_t damaged[] = { 3, 5, 7 };
	uint64_t i;

	(void)state;
	for (i = 0; i < PM_ARRAY_SIZE(damaged); i++) {
		log_make(64 << 10);
		append_seq(1, 40);
		append_seq(2, 40);
		batch_of_five(3);
		rec_ptr(damaged[i], 40)[24 + 7] ^= 1;
		log_reopen();
		expect_records(1, 2, 0, 40);
		batch_of_five(3);
		log_reopen();
		expect_records(1, 7, 0, 40);
	}
}

/*
 * A crash tore record 3 but left 4 and 5 whole; after recovery a new 3 of
 * the same size lands where the old one was.  The old 4 and 5 now sit
 * where the new 4 and 5 would go, with the right seqs and checksums: they
 * must not come back.
 */
static void test_log_open_stale_after_torn(void **state)
{
	uint64_t i;

	(void)state;
	log_make(64 << 10);
	for (i = 1; i <= 5; i++)
		append_seq(i, 40);
	rec_ptr(3, 40)[24] ^= 1;
	log_reopen();
	expect_records(1, 2, 0, 40);
	append_seq(3, 40);
	log_reopen();
	expect_records(1, 3, 0, 40);
	append_seq(4, 40);
	log_reopen();
	expect_records(1, 4, 0, 40);
}

/* Records of an earlier lap lie everywhere after the tail. */
static void test_log_open_stale_earlier_lap(void **state)
{
	struct pm_log_info info;
	uint64_t seq = 1, lap;

	(void)state;
	log_make(4096);
	for (lap = 0; lap < 5; lap++) {
		while (pm_log_append(fx.log, NULL, 0, NULL) == 0)
			seq++;
		assert_int_equal(pm_log_truncate(fx.log, seq - 3), 0);
		log_reopen();
		assert_int_equal(pm_log_get_info(fx.log, &info), 0);
		assert_int_equal(info.first_seq, seq - 2);
		assert_int_equal(info.next_seq, seq);
	}
	/* Empty it: the stale lap must not reappear. */
	assert_int_equal(pm_log_truncate(fx.log, UINT64_MAX), 0);
	log_reopen();
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_int_equal(info.nrecords, 0);
	assert_int_equal(info.next_seq, seq);
	assert_int_equal(info.used, 0);
}

/*
 * Record 61 near the ring's end was torn; after recovery a larger 61 must
 * wrap to offset 0.  The torn header left at the wrap point carries seq 61:
 * neither a walk nor a later recovery may take it for the record.
 */
static void test_log_walk_wrap_over_torn(void **state)
{
	uint8_t *torn = fx.area + 64 + 60 * 64, saved[24];
	struct one o = { .seq = 61, .len = 200 };
	uint64_t i;

	(void)state;
	log_make(4096);
	for (i = 1; i <= 60; i++)
		append_seq(i, 40);
	assert_int_equal(pm_log_truncate(fx.log, 30), 0);
	append_seq(61, 100);
	torn[24 + 50] ^= 1;
	memcpy(saved, torn, sizeof(saved));
	log_reopen();
	append_seq(61, 200);
	assert_int_equal(pm_log_walk(fx.log, 61, one_cb, &o), 1);
	assert_true(o.seen);
	/* As if the crash had lost the wrap mark but kept the record. */
	memcpy(torn, saved, sizeof(saved));
	log_reopen();
	o.seen = 0;
	assert_int_equal(pm_log_walk(fx.log, 61, one_cb, &o), 1);
	assert_true(o.seen);
	expect_records(31, 31, 0, -2);
}

/* A stray write over a live record's seq word: truncation past it
 * reports the record damaged and drops nothing (it used to walk the ring
 * by whatever it found there, and could go round for ever). */
static void test_log_truncate_stray_write(void **state)
{
	uint8_t *seq5 = fx.area + 64 + 4 * 64, saved[8]; /* 64-byte records */
	struct expect e = { .next = 1, .fixed_len = 40 };
	uint64_t i;

	(void)state;
	log_make(4096);
	for (i = 1; i <= 20; i++)
		append_seq(i, 40);
	memcpy(saved, seq5, 8);
	memset(seq5, 0, 8);
	assert_int_equal(pm_log_truncate(fx.log, 10), PM_E_CORRUPT);
	memset(seq5, 0x5a, 8);
	assert_int_equal(pm_log_truncate(fx.log, 10), PM_E_CORRUPT);
	assert_int_equal(pm_log_walk(fx.log, 0, check_cb, &e), PM_E_CORRUPT);
	assert_int_equal(e.count, 4);
	memcpy(seq5, saved, 8);
	assert_int_equal(pm_log_truncate(fx.log, 10), 0);
	expect_records(11, 10, 40, 40);
}

static void test_log_open_seq_continues_when_empty(void **state)
{
	uint64_t s;

	(void)state;
	log_make(4096);
	append_seq(1, 10);
	append_seq(2, 10);
	assert_int_equal(pm_log_truncate(fx.log, 2), 0);
	log_reopen();
	assert_int_equal(pm_log_append(fx.log, "x", 1, &s), 0);
	assert_int_equal(s, 3);
}

static void test_log_open_bad_slot(void **state)
{
	struct pm_log_info info;
	uint64_t i;

	(void)state;
	log_make(4096);
	for (i = 1; i <= 4; i++)
		append_seq(i, 8);
	assert_int_equal(pm_log_truncate(fx.log, 2), 0);
	pm_log_area_close(fx.log);
	fx.log = NULL;
	/* Both slots damaged: corrupt. */
	fx.area[20] ^= 1;
	fx.area[32 + 20] ^= 1;
	assert_int_equal(pm_log_area_open(fx.map, fx.area, fx.size, SEED,
					  &fx.log),
			 PM_E_CORRUPT);
	/* One good slot is enough; either gives a consistent log. */
	fx.area[20] ^= 1;
	log_reopen();
	assert_int_equal(pm_log_get_info(fx.log, &info), 0);
	assert_true(info.first_seq == 1 || info.first_seq == 3);
	assert_int_equal(info.next_seq, 5);
	/* A different seed (another pool's UUID) finds no valid slot. */
	pm_log_area_close(fx.log);
	fx.log = NULL;
	assert_int_equal(pm_log_area_open(fx.map, fx.area, fx.size, SEED + 1,
					  &fx.log),
			 PM_E_CORRUPT);
	log_reopen();
}

static void test_log_walk_from_seq(void **state)
{
	struct expect e = { .next = 7, .max = 300, .fixed_len = -1 };
	uint64_t i;

	(void)state;
	log_make(64 << 10);
	for (i = 1; i <= 10; i++)
		append_seq(i, pay_len(i, 300));
	assert_int_equal(pm_log_walk(fx.log, 7, check_cb, &e), 0);
	assert_int_equal(e.count, 4);
	e.next = 11;
	e.count = 0;
	assert_int_equal(pm_log_walk(fx.log, 11, check_cb, &e), 0);
	assert_int_equal(e.count, 0);
}

static int truncating_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	(void)rec;
	(void)len;
	(void)arg;
	return pm_log_truncate(fx.log, seq);
}

static void test_log_truncate_inside_walk(void **state)
{
	(void)state;
	log_make(4096);
	append_seq(1, 8);
	assert_int_equal(pm_log_walk(fx.log, 0, truncating_cb, NULL), -EDEADLK);
}

static void test_log_append_invalid(void **state)
{
	uint64_t s;

	(void)state;
	log_make(4096);
	assert_int_equal(pm_log_append(NULL, "x", 1, &s), -EINVAL);
	assert_int_equal(pm_log_append(fx.log, NULL, 1, &s), -EINVAL);
	assert_int_equal(pm_log_walk(fx.log, 0, NULL, NULL), -EINVAL);
	assert_int_equal(pm_log_truncate(NULL, 1), -EINVAL);
	assert_int_equal(pm_log_get_info(fx.log, NULL), -EINVAL);
	assert_int_equal(pm_log_area_format(fx.map, fx.area, 100, SEED),
			 -EINVAL);
	assert_int_equal(pm_log_area_format(fx.map, fx.area, MAP_SIZE, SEED),
			 -EINVAL);
}

static int lens_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	size_t *lens = arg;

	(void)rec;
	lens[seq - 1] = len;
	return 0;
}

/* Empty records need no payload pointer, alone or in a batch. */
static void test_log_append_empty_null(void **state)
{
	struct iovec v[3] = { { NULL, 0 }, { "ab", 2 }, { NULL, 0 } };
	size_t lens[4] = { 9, 9, 9, 9 };
	uint64_t s;

	(void)state;
	log_make(4096);
	assert_int_equal(pm_log_append(fx.log, NULL, 0, &s), 0);
	assert_int_equal(s, 1);
	assert_int_equal(pm_log_append_batch(fx.log, v, 3, &s), 0);
	assert_int_equal(s, 2);
	log_reopen();
	assert_int_equal(pm_log_walk(fx.log, 0, lens_cb, lens), 0);
	assert_int_equal(lens[0], 0);
	assert_int_equal(lens[1], 0);
	assert_int_equal(lens[2], 2);
	assert_int_equal(lens[3], 0);
}

#define NTHREADS 4
#define PER_THREAD 2000

static void *appender(void *arg)
{
	uint64_t id = (uintptr_t)arg, i;
	uint64_t rec[4] = { 0 };

	for (i = 0; i < PER_THREAD; i++) {
		int ret;

		rec[0] = id;
		rec[1] = i;
		rec[2] = id * 1000003 + i;
		ret = pm_log_append(fx.log, rec, 8 * (2 + i % 3), NULL);
		if (ret)
			return (void *)1;
	}
	return NULL;
}

struct seen {
	uint64_t next[NTHREADS];
	uint64_t prev_seq;
	int bad;
};

static int threads_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct seen *s = arg;
	uint64_t r[4] = { 0 };

	memcpy(r, rec, len > sizeof(r) ? sizeof(r) : len);
	if (r[0] >= NTHREADS || r[1] != s->next[r[0]] ||
	    len != 8 * (2 + r[1] % 3) ||
	    (len > 16 && r[2] != r[0] * 1000003 + r[1]) ||
	    seq != s->prev_seq + 1)
		s->bad = 1;
	else
		s->next[r[0]]++;
	s->prev_seq = seq;
	return 0;
}

/* Several appenders: every record whole, each thread's in its order. */
static void run_threads(void)
{
	pthread_t t[NTHREADS];
	struct seen s = { .prev_seq = 0 };
	void *ret;
	int i;

	log_make(512 << 10);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, appender,
						(void *)(uintptr_t)i),
				 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	log_reopen();
	assert_int_equal(pm_log_walk(fx.log, 0, threads_cb, &s), 0);
	assert_false(s.bad);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(s.next[i], PER_THREAD);
}

static void test_log_append_threads(void **state)
{
	(void)state;
	run_threads();
}

/* The same with a 64-byte window: an append with more than that in
 * flight ahead of it waits for those appends before it writes. */
static void test_log_append_threads_window(void **state)
{
	(void)state;
	pm_test_log_window = 64;
	run_threads();
	pm_test_log_window = 0;
}

#define RACE_BUF 20000

static int count_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	(void)seq, (void)rec, (void)len;
	++*(uint64_t *)arg;
	return 0;
}

/* The fixture's file mapped again with granularity @gran forced (the
 * log closed). */
static void remap(const char *gran)
{
	pm_log_area_close(fx.log);
	fx.log = NULL;
	pm_unmap(fx.map);
	setenv("PM_FORCE_GRANULARITY", gran, 1);
	assert_int_equal(pm_map_file(fx.path, MAP_SIZE, 0, &fx.map), 0);
	fx.area = (uint8_t *)pm_map_addr(fx.map) + AREA_OFF;
}

/* Appends from a buffer another thread keeps changing (the caller's
 * race): every record must still be whole after a reopen, whatever its
 * bytes, on every path an append takes (whole lines, a header line stored
 * last, cached stores). */
static void test_log_append_racing_source(void **state)
{
	static const size_t lens[] = { 0,   1,	 40,   64,   100,  200,
				       512, 513, 4096, 5000, 16384 };
	static const char *const gran[] = { "cacheline", "byte", "page" };
	static uint64_t buf[RACE_BUF / 8];
	struct racer r;

	(void)state;
	if (racer_start(&r, buf, sizeof(buf)))
		skip();
	for (size_t g = 0; g < PM_ARRAY_SIZE(gran); g++) {
		struct pm_log_info info;
		struct timespec t0;
		uint64_t n = 0, seen = 0;

		remap(gran[g]);
		log_make(768 << 10);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0, raced = 0; racer_more(raced, &t0); i++) {
			size_t len = lens[i % PM_ARRAY_SIZE(lens)];
			uint64_t p0 = racer_passes(&r);
			int ret = pm_log_append(fx.log, buf, len, NULL);

			if (ret == -ENOSPC) {
				assert_int_equal(pm_log_truncate(fx.log,
								 UINT64_MAX),
						 0);
				n = 0;
				ret = pm_log_append(fx.log, buf, len, NULL);
			}
			assert_int_equal(ret, 0);
			raced += racer_passes(&r) != p0;
			n++;
		}
		log_reopen();
		assert_int_equal(pm_log_get_info(fx.log, &info), 0);
		assert_int_equal(info.nrecords, n);
		assert_int_equal(pm_log_walk(fx.log, 0, count_cb, &seen), 0);
		assert_int_equal(seen, n);
	}
	racer_stop(&r);
	remap("cacheline");
}

/* Through a pool: the log survives close and open; no area, no log. */
static void test_pool_log_round_trip(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = 64 << 10 };
	struct pm_pool *pool;
	struct pm_log *log;
	struct pm_pool_info pi;
	struct expect e = { .next = 1, .fixed_len = 100 };
	char p[300];
	uint8_t buf[100];
	uint64_t i;

	(void)state;
	snprintf(p, sizeof(p), "%s/test_log_pool.%d", test_tmpdir("/dev/shm"),
		 getpid());
	unlink(p);
	assert_int_equal(pm_pool_create(p, 4 << 20, &o, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	for (i = 1; i <= 3; i++) {
		pay_fill(buf, i, sizeof(buf));
		assert_int_equal(pm_log_append(log, buf, sizeof(buf), NULL), 0);
	}
	pm_pool_close(pool);
	assert_int_equal(pm_pool_open(p, 0, &pool), 0);
	assert_int_equal(pm_pool_info(pool, &pi), 0);
	assert_int_equal(pi.log_size, 64 << 10);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	assert_int_equal(pm_log_walk(log, 0, check_cb, &e), 0);
	assert_int_equal(e.count, 3);
	pm_pool_close(pool);
	unlink(p);
	o.log_size = 0;
	assert_int_equal(pm_pool_create(p, 4 << 20, &o, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &log), PM_E_NO_LOG);
	assert_int_equal(pm_pool_log(NULL, &log), -EINVAL);
	pm_pool_close(pool);
	unlink(p);
}

/* Pages of @len bytes at @off of file @fd that are in the page cache. */
static size_t resident(int fd, uint64_t off, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t n = (size_t)(len / (uint64_t)pg), count = 0, i;
	unsigned char *vec = malloc(n);
	void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd,
		       (off_t)off);

	assert_non_null(vec);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mincore(m, (size_t)len, vec), 0);
	for (i = 0; i < n; i++)
		count += vec[i] & 1;
	munmap(m, (size_t)len);
	free(vec);
	return count * (size_t)pg;
}

/* Drop file @fd's pages from the page cache; 0 if it cannot be done. */
static int drop_cache(int fd, uint64_t off, uint64_t len)
{
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	return resident(fd, off, len) < (1 << 20);
}

/* Open @path and count what recovery read of the ring (@lsz bytes at
 * @off): the chain (3 MiB from the ring's start), not half the ring.
 * 0 if the page cache does not show even the chain (DAX: there is none,
 * and mincore() tells nothing). */
static int open_counting(const char *path, int fd, uint64_t off, uint64_t lsz)
{
	struct pm_log_info info;
	struct pm_pool *pool;
	struct pm_log *log;
	int seen;

	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	assert_int_equal(pm_log_get_info(log, &info), 0);
	assert_int_equal(info.nrecords, 1000);
	seen = resident(fd, off, 4 << 20) >= 3 << 20;
	/* the window, and what the kernel reads ahead of faults */
	if (seen)
		assert_true(resident(fd, off, lsz) <= lsz / 2);
	pm_pool_close(pool);
	return seen;
}

/* Recovery reads the chain and a window after it, not the whole ring: a
 * pool with a 128 MiB log, its pages dropped from the page cache, opens
 * having read less than half of its ring, after a process appending to
 * it ended without closing it (as a crash leaves it) and after a clean
 * close. */
static void test_log_open_reads_window(void **state)
{
	const uint64_t lsz = 128 << 20;
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = lsz };
	struct pm_pool_info pi;
	struct pm_pool *pool;
	struct pm_log *log;
	char p[300];
	int fd, st;
	pid_t pid;

	(void)state;
	snprintf(p, sizeof(p), "%s/test_log_window.%d", test_tmpdir("/tmp"),
		 getpid());
	unlink(p);
	assert_int_equal(pm_pool_create(p, lsz + (16 << 20), &o, &pool), 0);
	assert_int_equal(pm_pool_info(pool, &pi), 0);
	pm_pool_close(pool);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		static const uint8_t buf[3000];

		if (pm_pool_open(p, 0, &pool) || pm_pool_log(pool, &log))
			_exit(1);
		for (int i = 0; i < 1000; i++)
			if (pm_log_append(log, buf, sizeof(buf), NULL))
				_exit(1);
		_exit(0); /* no close: the log is not sealed */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && !WEXITSTATUS(st));
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	if (!drop_cache(fd, pi.log_offset, lsz) ||
	    !open_counting(p, fd, pi.log_offset, lsz)) {
		close(fd); /* no page cache to drop, or none at all (DAX) */
		unlink(p);
		skip();
	}
	assert_true(drop_cache(fd, pi.log_offset, lsz));
	assert_true(open_counting(p, fd, pi.log_offset, lsz));
	close(fd);
	unlink(p);
}

/* A clean close (as pool close does): from then on the records are
 * acknowledged, and damage to them is not a torn tail. */
static void log_seal_reopen(void)
{
	assert_int_equal(pm_log_area_seal(fx.log), 0);
	log_reopen();
}

static int recover_flags(unsigned flags)
{
	pm_log_area_close(fx.log);
	fx.log = NULL;
	return pm_log_area_recover(fx.map, fx.area, fx.size, SEED, flags,
				   &fx.log);
}

/*
 * Ten acknowledged records, one byte of record 5 damaged at @at: open
 * refuses (it would drop 6..10), the scan agrees; only a destructive
 * recovery drops 5..10, and the seqs it dropped are never issued again.
 */
static void damaged_acked(size_t at)
{
	struct pm_log_scan sc;
	uint64_t i, s;

	log_make(64 << 10);
	for (i = 1; i <= 10; i++)
		append_seq(i, 40);
	log_seal_reopen();
	rec_ptr(5, 40)[at] ^= 0x40;
	assert_int_equal(recover_flags(0), PM_E_CORRUPT);
	assert_int_equal(pm_log_area_scan(fx.area, fx.size, SEED, &sc), 0);
	assert_true(sc.acked);
	assert_int_equal(sc.next_seq, 5);
	assert_int_equal(sc.past_n, 6); /* 6..10 and the close marker */
	assert_int_equal(sc.drop_first, 5);
	assert_int_equal(sc.drop_last, 10);
	/* Refusing changed nothing: still refused. */
	assert_int_equal(recover_flags(0), PM_E_CORRUPT);
	assert_int_equal(recover_flags(PM_LOG_DISCARD), 0);
	expect_records(1, 4, 0, 40);
	assert_int_equal(pm_log_append(fx.log, "x", 1, &s), 0);
	assert_int_equal(s, 12); /* 11 is the gap marker */
	log_reopen();
	assert_int_equal(pm_log_append(fx.log, "y", 1, &s), 0);
	assert_int_equal(s, 13);
	log_seal_reopen();
	assert_int_equal(pm_log_area_scan(fx.area, fx.size, SEED, &sc), 0);
	assert_int_equal(sc.torn_off, UINT64_MAX);
	assert_int_equal(sc.past_n, 0);
	assert_int_equal(sc.next_seq, 14);
	/* Truncating into the gap keeps what follows it. */
	assert_int_equal(pm_log_truncate(fx.log, 7), 0);
	log_reopen();
	assert_int_equal(pm_log_append(fx.log, "z", 1, &s), 0);
	assert_int_equal(s, 14);
}

static void test_log_damaged_acked_seq(void **state)
{
	(void)state;
	damaged_acked(0);
}

static void test_log_damaged_acked_payload(void **state)
{
	(void)state;
	damaged_acked(24 + 20);
}

/* The last acknowledged record damaged: nothing follows it, but it is
 * not a torn append either. */
static void test_log_damaged_acked_last(void **state)
{
	uint64_t i;

	(void)state;
	log_make(64 << 10);
	for (i = 1; i <= 10; i++)
		append_seq(i, 40);
	log_seal_reopen();
	rec_ptr(10, 40)[24 + 3] ^= 1;
	assert_int_equal(recover_flags(0), PM_E_CORRUPT);
	assert_int_equal(recover_flags(PM_LOG_DISCARD), 0);
	expect_records(1, 9, 0, 40);
	append_seq(12, 40);
}

/*
 * The last record damaged in a log not closed cleanly, after a truncation
 * or after an open that followed a crash, with nothing after it: the log
 * header recorded it as acknowledged, so open refuses.
 */
static void test_log_damaged_last_unsealed(void **state)
{
	struct pm_log_scan sc;
	uint64_t i;

	(void)state;
	for (int trunc = 0; trunc < 2; trunc++) {
		log_make(64 << 10);
		for (i = 1; i <= 10; i++)
			append_seq(i, 40);
		if (trunc)
			assert_int_equal(pm_log_truncate(fx.log, 5), 0);
		else
			log_reopen();
		rec_ptr(10, 40)[24 + 3] ^= 1;
		assert_int_equal(pm_log_area_scan(fx.area, fx.size, SEED, &sc),
				 0);
		assert_true(sc.acked);
		assert_int_equal(sc.drop_first, 10);
		assert_int_equal(sc.drop_last, 10);
		assert_int_equal(recover_flags(0), PM_E_CORRUPT);
		assert_int_equal(recover_flags(PM_LOG_DISCARD), 0);
		expect_records(trunc ? 6 : 1, trunc ? 4 : 9, 0, 40);
		append_seq(12, 40);
	}
}

/*
 * A crash may keep any 8-byte word of an append and lose the others.  The
 * first append after a slot write that keeps only the new seq word (or
 * the seq and len words) leaves the old gen word: that of the record it
 * overwrites, of the chain's last gen (after a truncation), or of the
 * close marker it replaces (after a clean close and an open).  Neither
 * is damage to an acknowledged record: open drops the torn append.
 */
static void torn_first_append(uint64_t next, uint8_t *at, int len_too)
{
	struct pm_log_scan sc;
	uint32_t word = 40 | PM_LOG_REC_END;

	memcpy(at, &next, 8);
	if (len_too)
		memcpy(at + 16, &word, 4);
	assert_int_equal(pm_log_area_scan(fx.area, fx.size, SEED, &sc), 0);
	assert_int_equal(sc.next_seq, next);
	assert_int_equal(sc.torn_off, (uint64_t)(at - fx.area - 64));
	assert_false(sc.acked);
	log_reopen();
	expect_records(sc.first_seq, next - sc.first_seq, 0, 40);
	append_seq(next, 40);
}

static void test_log_torn_stale_gen(void **state)
{
	uint64_t i;

	(void)state;
	/* 63 records of 64 bytes fill the ring; 64 goes to offset 0. */
	log_make(4096);
	for (i = 1; i <= 63; i++)
		append_seq(i, 40);
	assert_int_equal(pm_log_truncate(fx.log, 62), 0);
	torn_first_append(64, rec_ptr(1, 40), 0);
	/* Record 4 takes the place of the close marker (seq 4 already). */
	log_make(64 << 10);
	for (i = 1; i <= 3; i++)
		append_seq(i, 40);
	log_seal_reopen();
	torn_first_append(4, rec_ptr(4, 40), 1);
}

/*
 * A crash tore a batch whose second record went to offset 0, leaving only
 * its seq word there; the next session appended the first record again
 * and closed.  The close marker ends the chain with that seq: the header
 * at 0 is not a damaged acknowledged record.
 */
static void test_log_sealed_stale_header_at_0(void **state)
{
	uint64_t i, seq = 126;

	(void)state;
	log_make(4096); /* records of 8 bytes take 32 of the 4032 */
	for (i = 1; i <= 124; i++)
		append_seq(i, 8);
	assert_int_equal(pm_log_truncate(fx.log, 123), 0);
	memcpy(fx.area + 64, &seq, 8);
	log_reopen();
	append_seq(125, 8);
	log_seal_reopen();
	expect_records(124, 2, 0, 8);
}

/*
 * Item 10: after a truncation whose freed space was reused, damage to the
 * newer header slot alone falls back to the older one, which must give
 * the same log (same start), with or without a clean close after it.
 */
static void test_log_newer_slot_damaged(void **state)
{
	for (int sealed = 0; sealed < 2; sealed++) {
		struct pm_log_info info;
		uint64_t i, g0, g1;
		int newer;

		(void)state;
		log_make(4096);
		for (i = 1; i <= 60; i++)
			append_seq(i, 40);
		assert_int_equal(pm_log_truncate(fx.log, 40), 0);
		for (i = 61; i <= 90; i++)
			append_seq(i, 40); /* wraps over 1..30 */
		if (sealed)
			assert_int_equal(pm_log_area_seal(fx.log), 0);
		memcpy(&g0, fx.area + 16, 8);
		memcpy(&g1, fx.area + 32 + 16, 8);
		newer = g1 > g0;
		fx.area[32 * newer + 8] ^= 1;
		log_reopen();
		assert_int_equal(pm_log_get_info(fx.log, &info), 0);
		assert_int_equal(info.first_seq, 41);
		assert_int_equal(info.next_seq, 91);
		expect_records(41, 50, 0, 40);
	}
}

/* Through pm_pool_check(): fatal, repair changes nothing, open refuses;
 * PM_CHECK_DISCARD_DAMAGED drops 5..10 and new appends start above them. */
struct ck_count {
	unsigned fatal, repaired;
};

static int ck_cb(const struct pm_check_finding *f, void *arg)
{
	struct ck_count *c = arg;

	c->fatal += f->severity == PM_CHECK_FATAL;
	c->repaired += f->repaired;
	return 0;
}

static void test_pool_log_damaged_discard(void **state)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = 64 << 10 };
	struct expect e = { .next = 1, .fixed_len = 100 };
	struct ck_count cc = { 0 };
	struct pm_pool_info pi;
	struct pm_pool *pool;
	struct pm_log *log;
	uint8_t buf[100];
	uint64_t i, s, off;
	char p[300];
	FILE *f;
	int c;

	(void)state;
	snprintf(p, sizeof(p), "%s/test_log_ck.%d", test_tmpdir("/dev/shm"),
		 getpid());
	unlink(p);
	assert_int_equal(pm_pool_create(p, 4 << 20, &o, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	for (i = 1; i <= 10; i++) {
		pay_fill(buf, i, sizeof(buf));
		assert_int_equal(pm_log_append(log, buf, sizeof(buf), NULL), 0);
	}
	assert_int_equal(pm_pool_info(pool, &pi), 0);
	pm_pool_close(pool);
	/* A payload byte of record 5 (records of 100 bytes from offset 0). */
	off = pi.log_offset + 64 + 4 * PM_ALIGN_UP(24 + 100, 8) + 50;
	f = fopen(p, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
	c = fgetc(f);
	assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
	fputc(c ^ 0x20, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(pm_pool_check(p, 0, ck_cb, &cc), PM_E_CORRUPT);
	assert_int_equal(cc.fatal, 1);
	assert_int_equal(pm_pool_open(p, 0, &pool), PM_E_CORRUPT);
	assert_int_equal(pm_pool_check(p, PM_CHECK_REPAIR, NULL, NULL),
			 PM_E_CORRUPT);
	assert_int_equal(pm_pool_open(p, 0, &pool), PM_E_CORRUPT);
	assert_int_equal(pm_pool_check(p,
				       PM_CHECK_REPAIR |
					       PM_CHECK_DISCARD_DAMAGED,
				       NULL, NULL),
			 0);
	assert_int_equal(pm_pool_check(p, 0, NULL, NULL), 0);
	assert_int_equal(pm_pool_open(p, 0, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	assert_int_equal(pm_log_walk(log, 0, check_cb, &e), 0);
	assert_int_equal(e.count, 4);
	assert_int_equal(pm_log_append(log, "x", 1, &s), 0);
	assert_int_equal(s, 12);
	pm_pool_close(pool);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_append_round_trip_sizes),
		cmocka_unit_test(test_log_walk_each_size),
		cmocka_unit_test(test_log_append_one_fence),
		cmocka_unit_test(test_log_append_nt_threshold),
		cmocka_unit_test(test_log_append_batch_one_fence),
		cmocka_unit_test(test_log_truncate_reuse_laps),
		cmocka_unit_test(test_log_append_full_enospc),
		cmocka_unit_test(test_log_append_too_large),
		cmocka_unit_test(test_log_open_torn_payload),
		cmocka_unit_test(test_log_open_torn_crc),
		cmocka_unit_test(test_log_open_torn_len),
		cmocka_unit_test(test_log_open_damage_middle_drops_rest),
		cmocka_unit_test(test_log_open_torn_batch_all_or_nothing),
		cmocka_unit_test(test_log_open_stale_after_torn),
		cmocka_unit_test(test_log_open_stale_earlier_lap),
		cmocka_unit_test(test_log_walk_wrap_over_torn),
		cmocka_unit_test(test_log_truncate_stray_write),
		cmocka_unit_test(test_log_open_seq_continues_when_empty),
		cmocka_unit_test(test_log_open_bad_slot),
		cmocka_unit_test(test_log_walk_from_seq),
		cmocka_unit_test(test_log_truncate_inside_walk),
		cmocka_unit_test(test_log_append_invalid),
		cmocka_unit_test(test_log_append_empty_null),
		cmocka_unit_test(test_log_append_threads),
		cmocka_unit_test(test_log_append_threads_window),
		cmocka_unit_test(test_pool_log_round_trip),
		cmocka_unit_test(test_log_open_reads_window),
		cmocka_unit_test(test_log_damaged_acked_seq),
		cmocka_unit_test(test_log_damaged_acked_payload),
		cmocka_unit_test(test_log_damaged_acked_last),
		cmocka_unit_test(test_log_damaged_last_unsealed),
		cmocka_unit_test(test_log_torn_stale_gen),
		cmocka_unit_test(test_log_sealed_stale_header_at_0),
		cmocka_unit_test(test_log_newer_slot_damaged),
		cmocka_unit_test(test_log_append_racing_source),
		cmocka_unit_test(test_pool_log_damaged_discard),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
