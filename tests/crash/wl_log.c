/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wl_log.c - the append log: single appends (small, and large enough for
 * non-temporal copies), batches, truncations, in a ring small enough to
 * wrap many times.  Invariant: the log opens; a walk returns exactly the
 * records [first, next) of the last operation that returned, or of the
 * one in flight, each with its own length and bytes.
 *
 * Then damage after recovery (every image with --deep, one in four else):
 * the image, opened and closed (every record it holds is now
 * acknowledged), gets one byte of a live record or of a log header slot
 * flipped.  Open must refuse it (PM_E_CORRUPT) exactly when
 * pm_pool_check() finds fatal damage, and otherwise give back every
 * record it held, intact.
 *
 * --break log-fence: appends skip their fence (pm_test_break), so an
 * acknowledged record can still be lost.
 *
 * In pmcrash-test the log's window is 4 KiB (pm_test_log_window), so that
 * recovery reads only part of the ring's free space and batches cross the
 * window (a fence more); pmcrash runs the real one, the whole ring here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "layout.h"

#define POOL_SIZE (1 << 20)
#define LOG_SIZE (64 << 10)
#define MAX_BATCH 6

struct log_state {
	uint64_t *first, *next; /* after operation i (index 0: before any) */
	unsigned n, cap;
	uint64_t bytes, full, truncs; /* for -v: how far the ring went */
};

static uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The length of record @seq: mostly small, one in twelve large, and one
 * in 48 large enough to be checksummed while it is copied. */
static size_t rec_len(uint64_t seed, uint64_t seq)
{
	uint64_t st = seed ^ (seq * 0x100000001b3ULL), h = rnd(&st);

	if (h % 48 == 0)
		return 16384 + (size_t)(h >> 32) % 4000;
	if (h % 12 == 0)
		return 2048 + (size_t)(h >> 32) % 6000;
	return 1 + (size_t)(h >> 32) % 300;
}

static void state_push(struct log_state *s, uint64_t first, uint64_t next)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->first = realloc(s->first, s->cap * sizeof(*s->first));
		s->next = realloc(s->next, s->cap * sizeof(*s->next));
		if (!s->first || !s->next)
			abort();
	}
	s->first[s->n] = first;
	s->next[s->n] = next;
	s->n++;
}

static int log_prepare(struct crash_ctx *c)
{
	struct pm_pool_opts o = {
		.sz = sizeof(o),
		.nlanes = 2,
		.lane_size = 64 << 10,
		.log_size = LOG_SIZE,
	};
	struct pm_pool *pool;
	int ret;

	crash_lib_log_window(4096);
	ret = pm_pool_create(c->file, POOL_SIZE, &o, &pool);

	pm_pool_close(pool);
	c->priv = calloc(1, sizeof(struct log_state));
	return ret ? ret : c->priv ? 0 : -ENOMEM;
}

static int do_append(struct crash_ctx *c, struct pm_log *log, uint64_t seq,
		     int n)
{
	struct iovec v[MAX_BATCH];
	uint8_t *buf[MAX_BATCH];
	uint64_t first = 0;
	int ret;

	for (int i = 0; i < n; i++) {
		v[i].iov_len = rec_len(c->seed, seq + (uint64_t)i);
		buf[i] = malloc(v[i].iov_len);
		if (!buf[i])
			abort();
		crash_fill(buf[i], v[i].iov_len, c->seed, seq + (uint64_t)i);
		v[i].iov_base = buf[i];
	}
	ret = n == 1 ? pm_log_append(log, buf[0], v[0].iov_len, &first) :
		       pm_log_append_batch(log, v, n, &first);
	if (!ret && first != seq)
		ret = -EPROTO;
	for (int i = 0; i < n; i++)
		free(buf[i]);
	return ret;
}

/* One random operation; updates *first / *next to the state it leaves.
 * An append that finds the log full changes nothing and makes the next
 * operation a truncation. */
static int log_op(struct crash_ctx *c, struct pm_log *log, uint64_t *st,
		  uint64_t *first, uint64_t *next, int *full)
{
	uint64_t r = rnd(st) % 100, live = *next - *first;
	int n = r < 60 ? 1 : 2 + (int)(rnd(st) % (MAX_BATCH - 1));
	int ret;

	if (live && (*full || r >= 85)) {
		uint64_t keep = rnd(st) % (live < 3 ? live + 1 : 3);

		ret = pm_log_truncate(log, *next - keep - 1);
		if (!ret)
			*first = *next - keep;
		((struct log_state *)c->priv)->truncs++;
		*full = 0;
		return ret;
	}
	ret = do_append(c, log, *next, n);
	if (ret == -ENOSPC) {
		((struct log_state *)c->priv)->full++;
		*full = 1;
		return 0;
	}
	for (int i = 0; !ret && i < n; i++)
		((struct log_state *)c->priv)->bytes +=
			rec_len(c->seed, *next + (uint64_t)i) + 16;
	if (!ret)
		*next += (uint64_t)n;
	return ret;
}

static int log_run(struct crash_ctx *c)
{
	struct log_state *s = c->priv;
	struct pm_pool *pool;
	struct pm_log *log;
	uint64_t st = c->seed, first = 1, next = 1;
	int full = 0, ret;

	if (!c->ops)
		c->ops = c->deep ? 600 : 300;
	if (crash_is_broken(c, "log-fence"))
		crash_lib_break(PM_BREAK_LOG_FENCE);
	state_push(s, first, next);
	ret = pm_pool_open(c->file, 0, &pool);
	if (ret)
		goto out;
	ret = pm_pool_log(pool, &log);
	for (unsigned i = 0; i < c->ops && !ret; i++) {
		unsigned op = crash_op_begin(c, 0);

		ret = log_op(c, log, &st, &first, &next, &full);
		crash_op_end(c, 0, op);
		state_push(s, first, next);
	}
	pm_pool_close(pool);
	if (c->verbose)
		printf("log: %llu bytes appended to a %d-byte ring, %llu "
		       "truncations, %llu appends found it full\n",
		       (unsigned long long)s->bytes, LOG_SIZE,
		       (unsigned long long)s->truncs,
		       (unsigned long long)s->full);
out:
	crash_lib_break(0);
	return ret;
}

struct walk {
	struct crash_ctx *c;
	uint64_t first, next;
	int bad;
};

static int walk_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct walk *w = arg;
	size_t want = rec_len(w->c->seed, seq);
	long at;

	if (w->next != seq && w->first) {
		w->bad = crash_fail(w->c, "walk jumps from %llu to %llu",
				    (unsigned long long)(w->next - 1),
				    (unsigned long long)seq);
		return 1;
	}
	if (len != want) {
		w->bad = crash_fail(w->c, "record %llu has %zu bytes, not %zu",
				    (unsigned long long)seq, len, want);
		return 1;
	}
	at = crash_cmp(rec, len, w->c->seed, seq);
	if (at >= 0) {
		w->bad = crash_fail(w->c, "record %llu: byte %ld is wrong",
				    (unsigned long long)seq, at);
		return 1;
	}
	if (!w->first)
		w->first = seq;
	w->next = seq + 1;
	return 0;
}

static int state_is(const struct log_state *s, uint64_t i,
		    const struct pm_log_info *info)
{
	return info->first_seq == s->first[i] && info->next_seq == s->next[i];
}

static int log_verify(struct crash_ctx *c, struct pm_log *log,
		      struct crash_at at)
{
	const struct log_state *s = c->priv;
	struct walk w = { .c = c };
	struct pm_log_info info;
	int ret = pm_log_walk(log, 0, walk_cb, &w);

	if (w.bad)
		return 1;
	if (ret)
		return crash_fail(c, "pm_log_walk: %s", pm_strerror(ret));
	pm_log_get_info(log, &info);
	if (info.nrecords &&
	    (w.first != info.first_seq || w.next != info.next_seq))
		return crash_fail(c,
				  "walk gave [%llu, %llu), info [%llu, %llu)",
				  (unsigned long long)w.first,
				  (unsigned long long)w.next,
				  (unsigned long long)info.first_seq,
				  (unsigned long long)info.next_seq);
	if (state_is(s, at.done, &info) ||
	    (at.inflight && state_is(s, at.done + 1, &info)))
		return 0;
	if (!at.inflight)
		return crash_fail(c,
				  "log holds [%llu, %llu); after %llu "
				  "operations it must be [%llu, %llu)",
				  (unsigned long long)info.first_seq,
				  (unsigned long long)info.next_seq,
				  (unsigned long long)at.done,
				  (unsigned long long)s->first[at.done],
				  (unsigned long long)s->next[at.done]);
	return crash_fail(c,
			  "log holds [%llu, %llu); after %llu operations "
			  "it must be [%llu, %llu), or [%llu, %llu) if "
			  "the one in flight made it",
			  (unsigned long long)info.first_seq,
			  (unsigned long long)info.next_seq,
			  (unsigned long long)at.done,
			  (unsigned long long)s->first[at.done],
			  (unsigned long long)s->next[at.done],
			  (unsigned long long)s->first[at.done + 1],
			  (unsigned long long)s->next[at.done + 1]);
}

/* Where to flip: byte @want of the live records' headers and payloads. */
struct pick {
	uint64_t want, seen;
	const uint8_t *at;
};

static int pick_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct pick *p = arg;
	uint64_t n = sizeof(struct pm_log_rec) + len;

	(void)seq;
	if (p->want < p->seen + n) {
		p->at = (const uint8_t *)rec - sizeof(struct pm_log_rec) +
			(p->want - p->seen);
		return 1;
	}
	p->seen += n;
	return 0;
}

/* File offset of the byte to flip: one in a slot about one time in four,
 * else one of a live record (header or payload). */
static uint64_t flip_where(struct crash_ctx *c, const struct pm_sim_image *img,
			   struct pm_pool *pool, struct pm_log *log,
			   const struct pm_log_info *info)
{
	uint64_t st = c->seed ^ (img->point << 20) ^ img->index, r = rnd(&st);
	const uint8_t *base = pm_map_addr(pm_pool_map(pool));
	struct pm_pool_info pi;
	struct pick p = { 0 };

	pm_pool_info(pool, &pi);
	if (info->nrecords && r % 4) {
		p.want = rnd(&st) % info->used;
		pm_log_walk(log, 0, pick_cb, &p);
	}
	return p.at ? (uint64_t)(p.at - base) : pi.log_offset + r % 64;
}

static int flip(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;
	int ok;

	if (fd < 0)
		return -errno;
	ok = pread(fd, &b, 1, (off_t)off) == 1;
	b ^= 0x10;
	ok = ok && pwrite(fd, &b, 1, (off_t)off) == 1;
	close(fd);
	return ok ? 0 : -EIO;
}

static int count_fatal(const struct pm_check_finding *f, void *arg)
{
	*(unsigned *)arg += f->severity == PM_CHECK_FATAL;
	return 0;
}

/* Open after the flip: refused exactly when pmck says fatal, else the
 * same records, intact.  A flip in a slot (@in_slot) is never fatal: the
 * log was closed cleanly, so the other slot says the same, and nothing
 * lies past the chain (the writer kept its records of appends in flight
 * inside the window recovery reads, which erased them). */
static int flip_check(struct crash_ctx *c, uint64_t off, int in_slot,
		      const struct pm_log_info *before)
{
	struct walk w = { .c = c };
	struct pm_log_info info;
	struct pm_pool *pool;
	struct pm_log *log;
	unsigned fatal = 0;
	int ck = pm_pool_check(c->image, 0, count_fatal, &fatal);
	int ret = pm_pool_open(c->image, 0, &pool);

	if (ret == PM_E_CORRUPT && in_slot)
		return crash_fail(c,
				  "byte %llu flipped: one header slot "
				  "damaged, open refuses the log",
				  (unsigned long long)off);
	if (ret == PM_E_CORRUPT)
		return fatal ? 0 :
			       crash_fail(c,
					  "byte %llu flipped: open "
					  "refuses, pmck finds nothing "
					  "fatal (%s)",
					  (unsigned long long)off,
					  pm_strerror(ck));
	if (ret)
		return crash_fail(c, "byte %llu flipped: pool open: %s",
				  (unsigned long long)off, pm_strerror(ret));
	ret = fatal ? crash_fail(c,
				 "byte %llu flipped: pmck finds fatal "
				 "damage, open succeeds",
				 (unsigned long long)off) :
		      0;
	if (!ret && !pm_pool_log(pool, &log)) {
		ret = pm_log_walk(log, 0, walk_cb, &w);
		pm_log_get_info(log, &info);
		if (w.bad)
			ret = 1;
		else if (ret || info.first_seq != before->first_seq ||
			 info.next_seq != before->next_seq)
			ret = crash_fail(c,
					 "byte %llu flipped: log holds "
					 "[%llu, %llu), not [%llu, %llu)",
					 (unsigned long long)off,
					 (unsigned long long)info.first_seq,
					 (unsigned long long)info.next_seq,
					 (unsigned long long)before->first_seq,
					 (unsigned long long)before->next_seq);
	}
	pm_pool_close(pool);
	return ret;
}

static int log_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct crash_at at = crash_at(c, 0, img->point);
	struct pm_log_info info;
	struct pm_pool_info pi;
	struct pm_pool *pool;
	struct pm_log *log;
	uint64_t off = 0;
	int ret = pm_pool_open(c->image, 0, &pool);

	if (ret)
		return crash_fail(c, "pool open: %s", pm_strerror(ret));
	ret = pm_pool_log(pool, &log);
	ret = ret ? crash_fail(c, "no log: %s", pm_strerror(ret)) :
		    log_verify(c, log, at);
	if (!ret) {
		pm_log_get_info(log, &info);
		off = flip_where(c, img, pool, log, &info);
		pm_pool_info(pool, &pi);
	}
	pm_pool_close(pool);
	/* The flip costs a check and an open: one image in four unless deep. */
	if (ret || (!c->deep && (img->point + img->index) % 4))
		return ret;
	ret = flip(c->image, off);
	if (ret)
		return crash_fail(c, "flip: %s", pm_strerror(ret));
	return flip_check(c, off,
			  off - pi.log_offset < sizeof(struct pm_log_hdr),
			  &info);
}

static void log_cleanup(struct crash_ctx *c)
{
	struct log_state *s = c->priv;

	if (s) {
		free(s->first);
		free(s->next);
		free(s);
	}
	c->priv = NULL;
}

const struct crash_workload crash_wl_log = {
	.name = "log",
	.desc = "log appends, batches, truncations, ring wrap-around",
	.breaks = CRASH_LIB_BREAK("log-fence"),
	.prepare = log_prepare,
	.run = log_run,
	.check = log_check,
	.cleanup = log_cleanup,
	.afterlife = 1,
};
