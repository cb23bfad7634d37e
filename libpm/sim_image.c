/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim_image.c - the crash simulator's image generator: replays a recorded
 * trace and hands every crash image to a callback.
 *
 * Invariant (soundness of the images, see sim.c for the recording): at a
 * crash point each line not known to be durable has a chain of known
 * states D = v0, v1, ..., vn (the last one live).  Under Px86 the line
 * persists a prefix of its stores in program order; any prefix ends
 * between two known states v(i-1) and v(i), so the line holds v(i-1) plus
 * some subset of the words in which v(i) differs from it.  The default
 * mode produces exactly those states, lines independently; PM_SIM_WORDS
 * lets every word take any of its known values, in no order.  Values a
 * word held only between two known states are not known and not produced.
 */
#include <stdio.h>

#include "sim_trace.h"

#define WORDS (PM_CACHELINE / 8)

struct xline {
	uint64_t off;
	unsigned nver;
	const uint8_t *ver; /* nver lines after D */
	uint64_t count;	    /* states this line can be in */
};

struct explorer {
	struct pm_sim *s;
	uint8_t *dur;
	uint8_t *img;
	size_t size;
	struct xline *lines;
	size_t nlines, cap;
	pm_sim_cb cb;
	void *arg;
	struct pm_sim_image im;
};

static const uint8_t *ver(const struct explorer *x, const struct xline *l,
			  unsigned i)
{
	return i ? l->ver + (size_t)(i - 1) * PM_CACHELINE : x->dur + l->off;
}

static uint64_t word(const uint8_t *line, unsigned w)
{
	uint64_t v;

	memcpy(&v, line + w * 8, 8);
	return v;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* Distinct values word @w takes along the chain, in order of appearance;
 * returns how many, the values in @vals. */
static unsigned word_values(const struct explorer *x, const struct xline *l,
			    unsigned w, uint64_t *vals, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i <= l->nver; i++) {
		uint64_t v = word(ver(x, l, i), w);
		unsigned j;

		for (j = 0; j < n && vals[j] != v; j++)
			;
		if (j == n && n < max)
			vals[n++] = v;
	}
	return n;
}

static unsigned diff_mask(const uint8_t *a, const uint8_t *b)
{
	unsigned m = 0;

	for (unsigned w = 0; w < WORDS; w++)
		if (word(a, w) != word(b, w))
			m |= 1U << w;
	return m;
}

static void line_count(const struct explorer *x, struct xline *l,
		       unsigned *nwords)
{
	uint64_t vals[64];
	unsigned any = 0;

	l->count = 1;
	if (x->s->flags & PM_SIM_WORDS) {
		for (unsigned w = 0; w < WORDS; w++) {
			unsigned n = word_values(x, l, w, vals, 64);

			l->count = mul_sat(l->count, n);
			any += n > 1;
		}
	} else {
		for (unsigned i = 1; i <= l->nver; i++) {
			unsigned m = diff_mask(ver(x, l, i - 1), ver(x, l, i));

			l->count += (1ULL << __builtin_popcount(m)) - 1;
			any |= m;
		}
		any = (unsigned)__builtin_popcount(any);
	}
	*nwords += any;
}

/* Write state @c of line @l into the image. */
static void line_state(const struct explorer *x, const struct xline *l,
		       uint64_t c)
{
	uint8_t *dst = x->img + l->off;
	uint64_t vals[64];

	if (x->s->flags & PM_SIM_WORDS) {
		for (unsigned w = 0; w < WORDS; w++) {
			unsigned n = word_values(x, l, w, vals, 64);

			memcpy(dst + w * 8, &vals[c % n], 8);
			c /= n;
		}
		return;
	}
	for (unsigned i = 1; i <= l->nver && c; i++) {
		const uint8_t *a = ver(x, l, i - 1), *b = ver(x, l, i);
		unsigned m = diff_mask(a, b), k = 0;
		uint64_t span = (1ULL << __builtin_popcount(m)) - 1;

		if (c > span) {
			c -= span;
			continue;
		}
		memcpy(dst, a, PM_CACHELINE);
		for (unsigned w = 0; w < WORDS; w++) {
			if (!(m & (1U << w)))
				continue;
			if (c & (1ULL << k))
				memcpy(dst + w * 8, b + w * 8, 8);
			k++;
		}
		return;
	}
}

static int emit(struct explorer *x)
{
	int ret = x->cb(&x->im, x->arg);

	for (size_t i = 0; i < x->nlines; i++)
		memcpy(x->img + x->lines[i].off, x->dur + x->lines[i].off,
		       PM_CACHELINE);
	x->im.index++;
	return ret;
}

static int enumerate(struct explorer *x, uint64_t total)
{
	for (uint64_t idx = 0; idx < total; idx++) {
		uint64_t c = idx;
		int ret;

		for (size_t i = 0; i < x->nlines; i++) {
			line_state(x, &x->lines[i], c % x->lines[i].count);
			c /= x->lines[i].count;
		}
		ret = emit(x);
		if (ret)
			return ret;
	}
	return 0;
}

static uint64_t splitmix(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Image 0 is D, image 1 the live state; then each line independently is
 * old, newest or any of its states, a quarter, a quarter and a half. */
static int sample(struct explorer *x)
{
	for (uint64_t j = 0; j < x->im.nimages; j++) {
		uint64_t st = x->s->seed ^ (x->im.point * 0x100000001b3ULL) ^
			      (j << 40);
		int ret;

		for (size_t i = 0; i < x->nlines && j; i++) {
			struct xline *l = &x->lines[i];
			uint64_t r = j == 1 ? 1 : splitmix(&st) % 4;

			if (r == 1)
				memcpy(x->img + l->off, ver(x, l, l->nver),
				       PM_CACHELINE);
			else if (r > 1)
				line_state(x, l, splitmix(&st) % l->count);
		}
		ret = emit(x);
		if (ret)
			return ret;
	}
	return 0;
}

static int explore_point(struct explorer *x, const struct sim_ev *ev,
			 const uint8_t *p, uint64_t point)
{
	uint64_t total = 1;
	unsigned nwords = 0;

	if (ev->n > x->cap) {
		struct xline *l = pm_realloc(x->lines, ev->n * sizeof(*l));

		if (!l)
			return pm_err(-ENOMEM, "pm_sim_explore: out of memory");
		x->lines = l;
		x->cap = ev->n;
	}
	x->nlines = ev->n;
	for (uint32_t i = 0; i < ev->n; i++) {
		const struct sim_line *sl = (const struct sim_line *)p;
		struct xline *l = &x->lines[i];

		l->off = sl->off;
		l->nver = sl->nver;
		l->ver = p + sizeof(*sl);
		p += sizeof(*sl) + (size_t)sl->nver * PM_CACHELINE;
		line_count(x, l, &nwords);
		total = mul_sat(total, l->count);
	}
	memset(&x->im, 0, sizeof(x->im));
	x->im.point = point;
	x->im.kind = (enum pm_sim_point_kind)ev->arg;
	x->im.possible = total;
	x->im.nlines = ev->n;
	x->im.nwords = nwords;
	x->im.data = x->img;
	x->im.size = x->size;
	if (total <= x->s->max_exhaustive) {
		x->im.nimages = total;
		return enumerate(x, total);
	}
	x->im.nimages = x->s->max_samples;
	x->im.sampled = 1;
	return sample(x);
}

/* Size of a POINT event's payload. */
static size_t point_len(const struct sim_ev *ev)
{
	const uint8_t *p = (const uint8_t *)(ev + 1);

	for (uint32_t i = 0; i < ev->n; i++) {
		const struct sim_line *sl = (const struct sim_line *)p;

		p += sizeof(*sl) + (size_t)sl->nver * PM_CACHELINE;
	}
	return (size_t)(p - (const uint8_t *)(ev + 1));
}

static int resize(struct explorer *x, size_t size)
{
	uint8_t *d, *i;

	if (size <= x->size)
		return 0;
	d = pm_realloc(x->dur, size);
	if (!d)
		return -ENOMEM;
	x->dur = d;
	i = pm_realloc(x->img, size);
	if (!i)
		return -ENOMEM;
	x->img = i;
	memset(x->dur + x->size, 0, size - x->size);
	memset(x->img + x->size, 0, size - x->size);
	x->size = size;
	return 0;
}

static int replay(struct explorer *x)
{
	const struct pm_sim *s = x->s;
	uint64_t point = 0;
	size_t at = 0;
	int ret = 0;

	while (!ret && at < s->tlen) {
		const struct sim_ev *ev = (const struct sim_ev *)(s->trace +
								  at);

		at += sizeof(*ev);
		switch (ev->type) {
		case SIM_EV_GROW:
			ret = resize(x, ev->arg);
			if (ret)
				ret = pm_err(ret,
					     "pm_sim_explore: out of memory");
			break;
		case SIM_EV_FOLD:
			memcpy(x->dur + ev->arg, s->trace + at, PM_CACHELINE);
			memcpy(x->img + ev->arg, s->trace + at, PM_CACHELINE);
			at += PM_CACHELINE;
			break;
		default:
			ret = explore_point(x, ev, s->trace + at, point++);
			at += point_len(ev);
		}
	}
	return ret;
}

/**
 * pm_sim_explore - hand every crash image of a stopped session to @cb
 * @sim: the session, stopped with pm_sim_stop()
 * @cb: called once per image, in crash-point order; the image is valid
 *      during the call only
 * @arg: passed to @cb
 *
 * A point with at most opts->max_exhaustive possible images is enumerated;
 * a larger one gets opts->max_samples images drawn from the session's seed
 * (the first two are D and the live state).
 *
 * Return: 0, the first non-zero value @cb returned, -EINVAL, -EBUSY (still
 * recording) or -ENOMEM (also if recording ran out of memory).
 */
PM_EXPORT int pm_sim_explore(struct pm_sim *sim, pm_sim_cb cb, void *arg)
{
	struct explorer x = { .s = sim, .cb = cb, .arg = arg };
	int ret;

	if (!sim || !cb)
		return pm_err(-EINVAL, "pm_sim_explore: NULL argument");
	if (__atomic_load_n(&pm_sim_active, __ATOMIC_ACQUIRE) == sim)
		return pm_err(-EBUSY, "pm_sim_explore: %s is still recorded",
			      sim->path);
	if (sim->err)
		return sim->err;
	ret = resize(&x, sim->size0);
	if (ret)
		return pm_err(ret, "pm_sim_explore: out of memory");
	if (sim->size0) {
		memcpy(x.dur, sim->d0, sim->size0);
		memcpy(x.img, sim->d0, sim->size0);
	}
	ret = replay(&x);
	pm_free(x.lines);
	pm_free(x.dur);
	pm_free(x.img);
	return ret;
}
