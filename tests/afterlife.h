/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afterlife.h - life after a recovered open, for the crash and kill
 * tests: a pool that opened after a crash must also go on working.  One
 * thread per lane (each holds its own lane) runs transactions until every
 * lane's ring has wrapped at least twice: each writes a pattern over a
 * region and the next one puts the region back, so the user's data ends
 * as it began.  A heap pool's threads allocate their regions and free
 * them at the end, so its live objects end as they began too.  Then:
 *   - a copy of the file taken while the pool is still open (a crash
 *     image with every ring wrapped since the recovery) opens, and holds
 *     the same data;
 *   - pm_pool_check() finds that copy clean;
 *   - the pool closes and reopens with the same data;
 *   - no lane header says a seq is retired that was never issued.
 * Public API only (pmcrash runs on libpm.so).  A transaction that never
 * returns (a lane waiting forever for room) ends the process by SIGALRM.
 */
#ifndef PM_TEST_AFTERLIFE_H
#define PM_TEST_AFTERLIFE_H 1

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libpm.h"

#define AFTERLIFE_MAX_THREADS 16
#define AFTERLIFE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define AFTERLIFE_SECS 120 /* no pool here needs a second */

struct afterlife_thr {
	struct pm_pool *pool;
	pthread_barrier_t *bar;
	uint8_t *region; /* raw pools: the thread's slice of the data area */
	size_t len;
	uint64_t goal; /* ring bytes to write: two wraps and a half */
	int heap;
	int ret;
	char msg[160];
};

static int afterlife_fail(char *msg, size_t n, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int afterlife_fail(char *msg, size_t n, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, n, fmt, ap);
	va_end(ap);
	return ret ? ret : -EIO;
}

/* One transaction: @src over [@dst, +@n) (and, for the heap, an
 * allocation or a free of *@obj when @alloc/@free say so). */
static int afterlife_tx(struct afterlife_thr *t, uint8_t *dst,
			const uint8_t *src, size_t n, size_t alloc,
			uint64_t *obj, int free_it)
{
	struct pm_tx *tx;
	int ret = pm_tx_begin(t->pool, n + 256, &tx);

	if (ret)
		return afterlife_fail(t->msg, sizeof(t->msg), ret,
				      "pm_tx_begin: %s", pm_strerror(ret));
	if (alloc)
		ret = pm_tx_alloc(tx, alloc, 0, obj);
	else if (free_it)
		ret = pm_tx_free(tx, *obj);
	if (!ret && n)
		ret = pm_tx_write(tx, dst, src, n);
	if (ret) {
		pm_tx_abort(tx);
		return afterlife_fail(t->msg, sizeof(t->msg), ret,
				      "transaction: %s", pm_strerror(ret));
	}
	ret = pm_tx_commit(tx);
	if (ret)
		return afterlife_fail(t->msg, sizeof(t->msg), ret,
				      "pm_tx_commit: %s", pm_strerror(ret));
	return 0;
}

/* A heap thread's region: an object as large as fits, up to @want. */
static int afterlife_alloc(struct afterlife_thr *t, size_t want, uint64_t *obj)
{
	int ret = -ENOMEM;

	for (size_t sz = want; sz >= 64 && ret == -ENOMEM; sz /= 2) {
		ret = afterlife_tx(t, NULL, NULL, 0, sz, obj, 0);
		if (!ret) {
			t->region = pm_pool_ptr(t->pool, *obj);
			t->len = sz;
		}
	}
	return ret;
}

static void *afterlife_run(void *arg)
{
	struct afterlife_thr *t = arg;
	size_t chunk = t->len;
	uint8_t *save = NULL, *pat = NULL;
	uint64_t done = 0, obj = 0;
	size_t pos = 0;

	/* The first transaction takes a free lane; once every thread has
	 * one, no two share a lane. */
	if (t->heap)
		t->ret = afterlife_alloc(t, chunk, &obj);
	else
		t->ret = afterlife_tx(t, t->region, t->region, 8, 0, NULL, 0);
	pthread_barrier_wait(t->bar);
	chunk = AFTERLIFE_MIN(t->len, chunk);
	save = malloc(chunk);
	pat = malloc(chunk);
	if (!t->ret && (!save || !pat))
		t->ret = afterlife_fail(t->msg, sizeof(t->msg), -ENOMEM,
					"out of memory");
	while (!t->ret && done < t->goal) {
		size_t n = AFTERLIFE_MIN(chunk, t->len - pos);

		memcpy(save, t->region + pos, n);
		for (size_t i = 0; i < n; i++)
			pat[i] = (uint8_t)(save[i] ^ 0xa5 ^ (done >> 6));
		t->ret = afterlife_tx(t, t->region + pos, pat, n, 0, NULL, 0);
		if (!t->ret)
			t->ret = afterlife_tx(t, t->region + pos, save, n, 0,
					      NULL, 0);
		done += 2 * (n + 64);
		pos = pos + n < t->len ? pos + n : 0;
	}
	if (!t->ret && obj)
		t->ret = afterlife_tx(t, NULL, NULL, 0, 0, &obj, 1);
	free(save);
	free(pat);
	return NULL;
}

/* What must not change: the data area of a raw pool (a copy); the live
 * objects (offset, size, bytes) of a heap pool, as a 64-bit hash. */
struct afterlife_print {
	struct pm_pool *pool;
	uint8_t *data; /* raw pools: the data area as it was */
	size_t size;
	uint64_t h;
};

static void afterlife_mix(struct afterlife_print *p, const void *buf,
			  size_t len)
{
	const uint8_t *b = buf;
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, 8);
		p->h = (p->h ^ w) * 0x9e3779b97f4a7c15ULL;
		p->h ^= p->h >> 29;
	}
	for (; i < len; i++)
		p->h = (p->h ^ b[i]) * 0x100000001b3ULL;
}

static int afterlife_obj(uint64_t off, size_t size, void *arg)
{
	struct afterlife_print *p = arg;

	afterlife_mix(p, &off, sizeof(off));
	afterlife_mix(p, &size, sizeof(size));
	afterlife_mix(p, pm_pool_ptr(p->pool, off), size);
	return 0;
}

static uint64_t afterlife_hash(struct pm_pool *pool)
{
	struct afterlife_print p = { .pool = pool, .h = 0xcbf29ce484222325ULL };

	pm_heap_walk(pool, afterlife_obj, &p);
	return p.h;
}

/* Take @pool's print: 0 or -ENOMEM. */
static int afterlife_take(struct pm_pool *pool, struct afterlife_print *p)
{
	void *data = pm_pool_data(pool, &p->size);

	p->data = NULL;
	if (!data) {
		p->h = afterlife_hash(pool);
		return 0;
	}
	p->data = malloc(p->size);
	if (!p->data)
		return -ENOMEM;
	memcpy(p->data, data, p->size);
	return 0;
}

static int afterlife_same(struct pm_pool *pool, const struct afterlife_print *p)
{
	size_t size;
	void *data = pm_pool_data(pool, &size);

	if (!data != !p->data)
		return 0;
	return data ? size == p->size && !memcmp(data, p->data, size) :
		      afterlife_hash(pool) == p->h;
}

static int afterlife_copy(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out;
	char buf[1 << 16];
	ssize_t n = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (close(out) || n < 0)
		return -EIO;
	return 0;
}

struct afterlife_fatal {
	unsigned n;
	char first[200]; /* the first one: structure and message */
};

static int afterlife_count_fatal(const struct pm_check_finding *f, void *arg)
{
	struct afterlife_fatal *a = arg;

	if (f->severity == PM_CHECK_FATAL && !a->n++)
		snprintf(a->first, sizeof(a->first), "%s: %s", f->structure,
			 f->message);
	return 0;
}

/* No lane header may say a seq is retired that was never issued: each
 * slot's retired (its first 8 bytes, layout.h) is below the next seq. */
static int afterlife_retired_ok(struct pm_pool *pool, char *msg, size_t msglen)
{
	const uint8_t *base = pm_map_addr(pm_pool_map(pool));
	struct pm_pool_info info;
	uint64_t r;

	if (pm_pool_info(pool, &info))
		return afterlife_fail(msg, msglen, 0, "pm_pool_info failed");
	for (unsigned i = 0; i < info.nlanes; i++)
		for (unsigned k = 0; k < 2; k++) {
			memcpy(&r,
			       base + info.lanes_offset +
				       (uint64_t)i * info.lane_size + k * 32,
			       sizeof(r));
			if (r >= info.next_seq)
				return afterlife_fail(
					msg, msglen, 0,
					"lane %u header slot %u says seq "
					"%llu is retired, but the next seq "
					"is %llu",
					i, k, (unsigned long long)r,
					(unsigned long long)info.next_seq);
		}
	return 0;
}

/* Open @path and compare its print with @want. */
static int afterlife_reopen(const char *path,
			    const struct afterlife_print *want,
			    const char *what, char *msg, size_t msglen)
{
	struct pm_pool *pool;
	int ret = pm_pool_open(path, 0, &pool), same;

	if (ret)
		return afterlife_fail(msg, msglen, ret, "%s: open: %s", what,
				      pm_strerror(ret));
	same = afterlife_same(pool, want);
	pm_pool_close(pool);
	if (!same)
		return afterlife_fail(msg, msglen, 0,
				      "%s: the data changed after transactions "
				      "that left it as it was",
				      what);
	return 0;
}

/* Run the after-life of the pool at @path (see the top): 0, or an error
 * with a message in @msg.  Leaves @path closed, and the copy behind
 * only if it failed. */
static inline int afterlife(const char *path, char *msg, size_t msglen)
{
	struct afterlife_thr t[AFTERLIFE_MAX_THREADS];
	pthread_t tid[AFTERLIFE_MAX_THREADS];
	struct pm_pool_info info;
	pthread_barrier_t bar;
	struct pm_pool *pool;
	char copy[4096];
	struct afterlife_fatal fatal = { 0, "" };
	unsigned n;
	struct afterlife_print print;
	size_t size;
	uint8_t *data;
	int ret;

	snprintf(copy, sizeof(copy), "%s.afterlife", path);
	alarm(AFTERLIFE_SECS);
	ret = pm_pool_open(path, 0, &pool);
	if (ret)
		return afterlife_fail(msg, msglen, ret, "open: %s",
				      pm_strerror(ret));
	ret = pm_pool_info(pool, &info);
	if (ret) {
		pm_pool_close(pool);
		return afterlife_fail(msg, msglen, ret, "pm_pool_info: %s",
				      pm_strerror(ret));
	}
	if (afterlife_take(pool, &print)) {
		pm_pool_close(pool);
		return afterlife_fail(msg, msglen, -ENOMEM, "out of memory");
	}
	data = pm_pool_data(pool, &size);
	n = AFTERLIFE_MIN(info.nlanes, AFTERLIFE_MAX_THREADS);
	pthread_barrier_init(&bar, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct afterlife_thr){
			.pool = pool,
			.bar = &bar,
			.heap = !data,
			.region = data ? data + size / n * i : NULL,
			.len = data ? size / n : info.lane_size / 8,
			.goal = info.lane_size * 5 / 2,
		};
		t[i].len = AFTERLIFE_MIN(t[i].len, info.lane_size / 8);
		if (pthread_create(&tid[i], NULL, afterlife_run, &t[i]))
			abort(); /* the barrier would wait forever */
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&bar);
	for (unsigned i = 0; !ret && i < n; i++)
		if (t[i].ret)
			ret = afterlife_fail(msg, msglen, t[i].ret,
					     "thread %u: %s", i, t[i].msg);
	if (!ret)
		ret = afterlife_retired_ok(pool, msg, msglen);
	if (!ret && !afterlife_same(pool, &print))
		ret = afterlife_fail(msg, msglen, 0,
				     "the data changed after transactions "
				     "that left it as it was");
	if (!ret && afterlife_copy(path, copy))
		ret = afterlife_fail(msg, msglen, 0, "cannot copy the pool");
	pm_pool_close(pool);
	if (!ret) {
		/* Committed entries not yet retired are fine: open
		 * replays them (pmck calls them repairable). */
		ret = pm_pool_check(copy, 0, afterlife_count_fatal, &fatal);
		if ((ret && ret != PM_E_CORRUPT) || fatal.n)
			ret = afterlife_fail(msg, msglen, ret,
					     "a crash image after wrapping "
					     "every ring: pm_pool_check: %s, "
					     "%u fatal findings (%s); kept "
					     "as %s",
					     pm_strerror(ret), fatal.n,
					     fatal.first, copy);
		else
			ret = 0;
	}
	if (!ret)
		ret = afterlife_reopen(copy, &print,
				       "a crash image after wrapping every "
				       "ring",
				       msg, msglen);
	if (!ret)
		ret = afterlife_reopen(path, &print, "reopened", msg, msglen);
	if (!ret)
		unlink(copy);
	free(print.data);
	alarm(0);
	return ret;
}

#endif /* PM_TEST_AFTERLIFE_H */
