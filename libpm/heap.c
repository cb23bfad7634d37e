/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * heap.c - the heap of a PM_POOL_HEAP pool: its format (layout.h), the
 * checks open and pmck share, and the volatile state built at open: free
 * pages, runs, arenas.  What the heap holds is asked in hquery.c.
 *
 * Invariant: the media changes only through transactions (halloc.c); a
 * page header is non-zero exactly on the first page of a block, so a scan
 * from page 0 finds every block, and the volatile state is rebuilt from
 * it at open.  Run bitmaps are read on a run's first use, not at open.
 * Nothing read from media is used before it is checked: a bad heap
 * header or page header refuses the pool, a bad bitmap refuses the run.
 */
#include "crc.h"
#include "heap.h"
#include "lane.h"

/* ---- classes ----------------------------------------------------------- */

static struct pm_heap_class classes[PM_HEAP_NCLASS];
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

/* 16..128 by 16, then eight classes per doubling up to 32 KiB. */
static uint32_t class_size(unsigned c)
{
	unsigned k, step;

	if (c < 8)
		return 16 * (c + 1);
	k = (c - 8) / 8;
	step = (128U << k) / 8;
	return (128U << k) + ((c - 8) % 8 + 1) * step;
}

/* Units of @size that fit @bytes with their bitmap in front. */
static uint32_t fit_units(uint32_t size, uint64_t bytes, uint32_t *hdr)
{
	uint64_t n = PM_MIN(bytes / size, (uint64_t)PM_HEAP_RUN_UNITS_MAX);

	for (;; n--) {
		*hdr = (uint32_t)PM_ALIGN_UP((n + 63) / 64 * 8, 16);
		if (*hdr + n * size <= bytes)
			return (uint32_t)n;
	}
}

/* The fewest pages (at least 8 units, fewer for big units: a run pins
 * its pages while one unit is in use) that waste at most 1/32 of the
 * run, else the least wasteful run of up to 64 pages. */
static void class_init(struct pm_heap_class *c, uint32_t size)
{
	uint64_t best = UINT64_MAX;
	uint32_t min_units = size <= 1024 ? 8 : size <= 8192 ? 4 : 2;

	c->size = size;
	for (uint32_t p = 1; p <= PM_HEAP_RUN_PAGES_MAX; p++) {
		uint64_t bytes = (uint64_t)p * PM_HEAP_PAGE, waste;
		uint32_t hdr, n = fit_units(size, bytes, &hdr);

		if (!n)
			continue;
		waste = bytes - (uint64_t)n * size;
		if (waste * 1024 / bytes < best) {
			best = waste * 1024 / bytes;
			c->pages = p;
			c->nunits = n;
			c->hdr = hdr;
		}
		if (n >= min_units && waste * 32 <= bytes)
			break;
	}
	c->nwords = (c->nunits + 63) / 64;
}

static void classes_init(void)
{
	for (unsigned i = 0; i < PM_HEAP_NCLASS; i++)
		class_init(&classes[i], class_size(i));
}

const struct pm_heap_class *pm_heap_classes(void)
{
	pthread_once(&classes_once, classes_init);
	return classes;
}

/* The inverse of class_size(): above 128, size lies in (base, 2 base]
 * with base = 128 << k, which is split in eight steps of base / 8. */
unsigned pm_heap_class_of(uint64_t size)
{
	unsigned k;
	uint64_t base, step;

	if (size <= 128)
		return size ? (unsigned)((size + 15) / 16 - 1) : 0;
	k = (unsigned)(63 - __builtin_clzll(size - 1)) - 7;
	base = 128ULL << k;
	step = base / 8;
	return 8 + 8 * k + (unsigned)((size - base + step - 1) / step) - 1;
}

/* ---- geometry and checks ----------------------------------------------- */

int pm_heap_geometry(uint64_t data_off, uint64_t data_size,
		     struct pm_heap_geo *g)
{
	uint64_t n, arr;

	if (data_size < 3 * PM_HEAP_PAGE)
		return -1;
	n = (data_size - PM_HEAP_PAGE) / (PM_HEAP_PAGE + 8);
	for (;; n--) {
		arr = PM_ALIGN_UP(n * 8, (uint64_t)PM_HEAP_PAGE);
		if (PM_HEAP_PAGE + arr + n * PM_HEAP_PAGE <= data_size)
			break;
	}
	if (!n)
		return -1;
	g->hdr_off = data_off;
	g->hdrs_off = data_off + PM_HEAP_PAGE;
	g->pages_off = g->hdrs_off + arr;
	g->npages = n;
	return 0;
}

static uint32_t hh_crc(uint32_t seed, const struct pm_heap_hdr *hh)
{
	return pm_crc_final(
		pm_crc_update(seed, hh, offsetof(struct pm_heap_hdr, crc)));
}

static const char *hh_bad(const struct pm_heap_hdr *hh,
			  const struct pm_heap_geo *g, uint32_t seed)
{
	uint64_t ro = pm_le64(hh->root_off), rs = pm_le64(hh->root_size);
	uint64_t end = g->pages_off + g->npages * PM_HEAP_PAGE;

	if (memcmp(hh->magic, PM_HEAP_MAGIC, sizeof(hh->magic)))
		return "no heap magic";
	if (pm_le32(hh->version) != PM_HEAP_VERSION)
		return "heap version not supported";
	if (pm_le32(hh->crc) != hh_crc(seed, hh))
		return "heap header checksum mismatch";
	if (pm_le32(hh->page_size) != PM_HEAP_PAGE ||
	    pm_le64(hh->npages) != g->npages ||
	    pm_le64(hh->hdrs_off) != g->hdrs_off ||
	    pm_le64(hh->pages_off) != g->pages_off)
		return "heap geometry does not match the data area";
	if (ro ? (ro < g->pages_off || ro >= end || !rs) : rs != 0)
		return "root object outside the heap";
	return NULL;
}

/* Why the header @v of page @p (of @n) is not a block's, or NULL. */
static const char *phdr_bad(uint64_t v, uint64_t p, uint64_t n,
			    struct pm_heap_block *b)
{
	const struct pm_heap_class *cl = pm_heap_classes();

	b->page = p;
	b->type = v & 0xff;
	b->cls = (v >> 8) & 0xff;
	b->npages = v >> 32;
	if (((v >> 16) & 0xffff) != PM_HEAP_TAG)
		return "page header without the heap tag";
	if (!b->npages || b->npages > n - p)
		return "block runs past the heap's end";
	if (b->type == PM_HEAP_T_EXTENT)
		return b->cls ? "extent header with a class" : NULL;
	if (b->type != PM_HEAP_T_RUN)
		return "unknown page header type";
	if (b->cls >= PM_HEAP_NCLASS)
		return "run of an unknown size class";
	if (b->npages != cl[b->cls].pages)
		return "run length does not match its class";
	return NULL;
}

int pm_heap_scan(const uint8_t *base, const struct pm_heap_geo *g,
		 uint32_t seed, const struct pm_heap_scan_ops *ops)
{
	const struct pm_heap_hdr *hh = (const void *)(base + g->hdr_off);
	const uint64_t *hd = (const void *)(base + g->hdrs_off);
	const char *why = hh_bad(hh, g, seed);
	struct pm_heap_block b;
	uint64_t end = 0; /* pages below are inside the last block */
	int ret = 0;

	if (why)
		return ops->bad(UINT64_MAX, why, ops->arg);
	for (uint64_t p = 0; p < g->npages && !ret; p++) {
		uint64_t v = pm_le64(hd[p]);

		if (!v)
			continue;
		if (p < end) {
			ret = ops->bad(p, "page header inside a block",
				       ops->arg);
			continue;
		}
		why = phdr_bad(v, p, g->npages, &b);
		if (why) {
			ret = ops->bad(p, why, ops->arg);
			continue;
		}
		end = p + b.npages;
		ret = ops->block(&b, ops->arg);
	}
	return ret;
}

const char *pm_heap_bits_bad(const uint64_t *bits, unsigned cls)
{
	const struct pm_heap_class *c = &pm_heap_classes()[cls];
	unsigned tail = c->nunits % 64;

	if (tail && pm_le64(bits[c->nwords - 1]) >> tail)
		return "run bitmap marks units past the run's end";
	return NULL;
}

/* ---- format -------------------------------------------------------------- */

int pm_heap_format(struct pm_pool *pool)
{
	struct pm_heap_geo g;
	struct pm_heap_hdr hh;
	int ret;

	if (pm_heap_geometry(pool->data_off, pool->data_size, &g))
		return pm_err(-EINVAL,
			      "%s: data area of %llu bytes too small for a "
			      "heap",
			      pool->path, (unsigned long long)pool->data_size);
	memset(&hh, 0, sizeof(hh));
	memcpy(hh.magic, PM_HEAP_MAGIC, sizeof(hh.magic));
	hh.version = pm_le32(PM_HEAP_VERSION);
	hh.page_size = pm_le32(PM_HEAP_PAGE);
	hh.npages = pm_le64(g.npages);
	hh.hdrs_off = pm_le64(g.hdrs_off);
	hh.pages_off = pm_le64(g.pages_off);
	hh.crc = pm_le32(hh_crc(pool->seed, &hh));
	ret = pm_map_fill(pool->map, pool->base + g.hdrs_off, 0,
			  g.pages_off - g.hdrs_off, PM_MEM_TEMPORAL);
	ret = pm_wb_first(ret, pm_map_copy(pool->map, pool->base + g.hdr_off,
					   &hh, sizeof(hh), PM_MEM_TEMPORAL));
	ret = pm_wb_first(ret, pm_map_drain(pool->map));
	if (ret)
		return pm_err(ret, "%s: cannot write the heap: %s", pool->path,
			      pm_strerror(ret));
	return 0;
}

/* ---- free pages (heap lock) ---------------------------------------------- */

static void run_load_locked(struct pm_heap *h, struct pm_hrun *r);

/* The free pages are indexed by a segment tree over the words of fbits:
 * each node holds the free pages at its low end (pre), at its high end
 * (suf) and the longest free stretch inside it (max).  Node 1 is the
 * root, node i has children 2i and 2i+1, word w is leaf seg_leaves + w;
 * leaves past the last word hold no free page, nor do bits past npages.
 * A search walks down only where a stretch long enough can be. */

static void seg_leaf(struct pm_hseg *s, uint64_t x)
{
	unsigned m = 0;

	if (x == ~0ULL) { /* all free: ctz(~x) would be undefined */
		*s = (struct pm_hseg){ 64, 64, 64 };
		return;
	}
	for (uint64_t y = x; y; y &= y >> 1)
		m++;
	s->pre = (uint64_t)__builtin_ctzll(~x);
	s->suf = (uint64_t)__builtin_clzll(~x);
	s->max = m;
}

static void seg_pull(struct pm_hseg *s, uint64_t i, uint64_t half)
{
	const struct pm_hseg *l = &s[2 * i], *r = &s[2 * i + 1];

	s[i].pre = l->pre == half ? half + r->pre : l->pre;
	s[i].suf = r->suf == half ? half + l->suf : r->suf;
	s[i].max = PM_MAX(PM_MAX(l->max, r->max), l->suf + r->pre);
}

/* Bring the index up to the words pages_mark() changed since it was last
 * used: their leaves, then the nodes above them (all of them when many
 * changed, as after the heap's load). */
static void seg_flush(struct pm_heap *h)
{
	/* one dirty bit per word of 64 pages, 64 bits per dirty word */
	uint64_t nd = (h->g.npages + 4095) / 4096;
	int many = h->seg_ndirty > h->seg_leaves / 16;

	if (!h->seg_ndirty)
		return;
	for (uint64_t k = 0; k < nd; k++) {
		for (uint64_t d = h->seg_dirty[k]; d; d &= d - 1) {
			uint64_t w = k * 64 + (uint64_t)__builtin_ctzll(d);
			uint64_t i = h->seg_leaves + w;

			seg_leaf(&h->seg[i], h->fbits[w]);
			for (uint64_t half = 64; !many && (i /= 2); half *= 2)
				seg_pull(h->seg, i, half);
		}
		h->seg_dirty[k] = 0;
	}
	for (uint64_t i = h->seg_leaves - 1; many && i; i--)
		seg_pull(h->seg, i,
			 32 * h->seg_leaves >> (63 - __builtin_clzll(i)));
	h->seg_ndirty = 0;
}

/* Word @w of fbits changed: its bits in the two summaries follow it, its
 * leaf of the index is stale. */
static void sum_update(struct pm_heap *h, uint64_t w)
{
	uint64_t bit = 1ULL << (w % 64);

	if (h->fbits[w])
		h->sum[1][w / 64] |= bit;
	else
		h->sum[1][w / 64] &= ~bit;
	if (h->fbits[w] != ~0ULL)
		h->sum[0][w / 64] |= bit;
	else
		h->sum[0][w / 64] &= ~bit;
	h->seg_ndirty += !(h->seg_dirty[w / 64] & bit);
	h->seg_dirty[w / 64] |= bit;
}

static void pages_mark(struct pm_heap *h, uint64_t p, uint64_t n, int free)
{
	for (uint64_t i = p, end = p + n; i < end;) {
		uint64_t w = i / 64, k = PM_MIN(64 - i % 64, end - i);
		uint64_t m = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << (i % 64);

		if (free)
			h->fbits[w] |= m;
		else
			h->fbits[w] &= ~m;
		sum_update(h, w);
		i += k;
	}
}

/* The first word at or after @w of fbits holding a bit @v (by the
 * summary), or one past the last. */
static uint64_t next_word(const struct pm_heap *h, uint64_t w, int v)
{
	uint64_t nw = (h->g.npages + 63) / 64;

	while (w < nw) {
		uint64_t s = h->sum[v][w / 64] & (~0ULL << (w % 64));

		if (s)
			return PM_ALIGN_DOWN(w, 64) +
			       (uint64_t)__builtin_ctzll(s);
		w = PM_ALIGN_DOWN(w, 64) + 64;
	}
	return nw;
}

/* The first page at or after @p whose free bit is @v, or @np.  Bits past
 * @np are never free, so a word holding them always shows a used bit. */
static uint64_t next_bit(const struct pm_heap *h, uint64_t p, int v)
{
	uint64_t np = h->g.npages;

	while (p < np) {
		uint64_t w = h->fbits[p / 64] ^ (v ? 0 : ~0ULL);

		w &= ~0ULL << (p % 64);
		if (w)
			return PM_MIN(np, PM_ALIGN_DOWN(p, 64) +
						  (uint64_t)__builtin_ctzll(w));
		p = next_word(h, p / 64 + 1, v) * 64;
	}
	return np;
}

/* A walk from the edge @x in direction @dir: upwards over the pages at
 * and above @x (0), or downwards over those below @x (1). */
struct seg_walk {
	uint64_t x;
	int dir;
	uint64_t n;   /* the free pages wanted in a row */
	uint64_t run; /* free pages met in a row so far */
};

/* Node @i covers pages [@lo, @lo + @len): 1 if the walk has not reached
 * it, 2 if it lies whole on the walk's side of the edge, 0 if split. */
static int seg_side(const struct seg_walk *q, uint64_t lo, uint64_t len)
{
	if (!q->dir)
		return lo + len <= q->x ? 1 : lo >= q->x ? 2 : 0;
	return lo >= q->x ? 1 : lo + len <= q->x ? 2 : 0;
}

/* The free pages met in a row by the walk @q through node @i, added to
 * q->run: 1 once a used page ends them. */
static int seg_run(const struct pm_heap *h, uint64_t i, uint64_t lo,
		   uint64_t len, struct seg_walk *q)
{
	const struct pm_hseg *s = &h->seg[i];
	int side = seg_side(q, lo, len);

	if (side == 1)
		return 0;
	if (side == 2) {
		q->run += q->dir ? s->suf : s->pre;
		return (q->dir ? s->suf : s->pre) < len;
	}
	if (len == 64) { /* a leaf split by the edge */
		uint64_t k = q->x - lo, x = h->fbits[lo / 64];
		uint64_t t = q->dir ? (uint64_t)__builtin_clzll(
					      ~(x << (64 - k))) :
				      (uint64_t)__builtin_ctzll(~(x >> k));

		t = PM_MIN(t, q->dir ? k : 64 - k);
		q->run += t;
		return t < (q->dir ? k : 64 - k);
	}
	return seg_run(h, 2 * i + q->dir, lo + q->dir * len / 2, len / 2, q) ||
	       seg_run(h, 2 * i + !q->dir, lo + !q->dir * len / 2, len / 2, q);
}

/* @x with its bits in reverse order. */
static uint64_t rev64(uint64_t x)
{
	x = (x >> 1 & 0x5555555555555555ULL) | (x & 0x5555555555555555ULL) << 1;
	x = (x >> 2 & 0x3333333333333333ULL) | (x & 0x3333333333333333ULL) << 2;
	x = (x >> 4 & 0x0f0f0f0f0f0f0f0fULL) | (x & 0x0f0f0f0f0f0f0f0fULL) << 4;
	return __builtin_bswap64(x);
}

/* seg_find() in the leaf of pages [@lo, @lo + 64): its bits taken in the
 * walk's order (bit j is page lo + j walking up, lo + 63 - j walking
 * down), those before the edge skipped. */
static int64_t leaf_find(const struct pm_heap *h, uint64_t lo,
			 struct seg_walk *q)
{
	uint64_t y = q->dir ? rev64(h->fbits[lo / 64]) : h->fbits[lo / 64];
	uint64_t j = 0;

	if (q->dir ? q->x < lo + 64 : q->x > lo)
		j = q->dir ? lo + 64 - q->x : q->x - lo;
	while (j < 64) {
		uint64_t used = ~y >> j;
		uint64_t t = used ? (uint64_t)__builtin_ctzll(used) : 64 - j;

		if (q->run + t >= q->n) {
			j += q->n - q->run; /* the row's end, in walk order */
			return (int64_t)(q->dir ? lo + 64 - j + q->n :
						  lo + j - q->n);
		}
		if (j + t == 64) {
			q->run += t;
			break;
		}
		q->run = 0;
		j += t;
		used = y >> j; /* free ones, from the used page at j */
		if (!used)
			break;
		j += (uint64_t)__builtin_ctzll(used);
	}
	return -1;
}

/* The first @q->n free pages in a row that the walk @q meets in node @i:
 * the lowest page of the first such row walking up, the page past the
 * highest walking down; -1: none in the node. */
static int64_t seg_find(const struct pm_heap *h, uint64_t i, uint64_t lo,
			uint64_t len, struct seg_walk *q)
{
	const struct pm_hseg *s = &h->seg[i];
	int side = seg_side(q, lo, len);
	int64_t r;

	if (side == 1)
		return -1;
	if (side == 2) {
		uint64_t near = q->dir ? s->suf : s->pre;
		uint64_t far = q->dir ? s->pre : s->suf;

		if (q->run + near >= q->n)
			return (int64_t)(q->dir ? lo + len + q->run :
						  lo - q->run);
		if (s->max < q->n) {
			q->run = far == len ? q->run + len : far;
			return -1;
		}
	}
	if (len == 64)
		return leaf_find(h, lo, q);
	r = seg_find(h, 2 * i + q->dir, lo + q->dir * len / 2, len / 2, q);
	if (r < 0)
		r = seg_find(h, 2 * i + !q->dir, lo + !q->dir * len / 2,
			     len / 2, q);
	return r;
}

/* Free stretches the index hands over per search: past it, the best one
 * seen is taken, so that a heap of many big stretches is not searched
 * whole. */
#define PM_HEAP_FIT_TRIES 128

/* pages_find() by the index: each stretch long enough in log time. */
static int64_t index_find(struct pm_heap *h, uint64_t n, int top)
{
	uint64_t best = UINT64_MAX, x = top ? h->g.npages : 0;
	uint64_t len = h->seg_leaves * 64;
	int64_t at = -1;

	seg_flush(h);
	for (unsigned k = 0; k < PM_HEAP_FIT_TRIES; k++) {
		struct seg_walk q = { x, top, n, 0 };
		int64_t e = seg_find(h, 1, 0, len, &q);
		uint64_t a, b;

		if (e < 0)
			break;
		q = (struct seg_walk){ (uint64_t)e, top, 0, 0 };
		seg_run(h, 1, 0, len, &q);
		a = top ? (uint64_t)e - q.run : (uint64_t)e;
		b = a + q.run;
		if (q.run < best) {
			best = q.run;
			at = (int64_t)(top ? b - n : a);
		}
		if (best == n)
			break;
		x = top ? a : b;
	}
	return at;
}

/* Free stretches a plain scan looks at before the index takes over; once
 * it has, this many searches go to the index without a scan first. */
#define PM_HEAP_SCAN_MAX 32
#define PM_HEAP_SCAN_SKIP 64

/* Best fit: the smallest stretch of at least @n free pages, the lowest
 * such (an exact fit ends the search), or with @top the highest, taken
 * at its top end (short-lived objects gather at the heap's end).  A heap
 * of a few free stretches is scanned (the summaries skip full and free
 * words); one of many, where small holes would make each search long,
 * is searched by the index. */
static int64_t pages_find(struct pm_heap *h, uint64_t n, int top)
{
	uint64_t best = UINT64_MAX, a, b, np = h->g.npages;
	unsigned seen = 0;
	int64_t at = -1;

	if (h->scan_skip) {
		h->scan_skip--;
		return index_find(h, n, top);
	}
	for (a = next_bit(h, 0, 1); a < np; a = next_bit(h, b, 1)) {
		if (++seen > PM_HEAP_SCAN_MAX) {
			h->scan_skip = PM_HEAP_SCAN_SKIP;
			return index_find(h, n, top);
		}
		b = next_bit(h, a, 0);
		if (b - a < n || b - a > best || (b - a == best && !top))
			continue;
		best = b - a;
		at = (int64_t)(top ? b - n : a);
		if (best == n && !top)
			break;
	}
	return at;
}

/* Claim the stale runs that overlap the block @pg->p: all their pages
 * leave the free pages and *@pg grows around them.  No look when none is
 * marked (h->nstale never counts fewer than there are). */
static void claim_stale(struct pm_heap *h, struct pm_hpages *pg)
{
	uint64_t q = pg->p > PM_HEAP_RUN_PAGES_MAX ?
			     pg->p - PM_HEAP_RUN_PAGES_MAX :
			     0;

	pg->lo = pg->p;
	pg->hi = pg->p + pg->n;
	pg->claimed = 0;
	for (; h->nstale && q < pg->p + pg->n; q++) {
		uintptr_t v = h->vpage[q];
		uint64_t k = v >> 8;

		if (!(v & PM_HX_STALE) || q + k <= pg->p)
			continue;
		__atomic_store_n(&h->vpage[q], 0, __ATOMIC_RELEASE);
		h->nstale--;
		pages_mark(h, q, k, 0);
		pg->lo = PM_MIN(pg->lo, q);
		pg->hi = PM_MAX(pg->hi, q + k);
		pg->claimed++;
	}
}

/* An empty run @r is no longer a run: its pages are free, its header
 * stale until someone takes them. */
static void run_stale(struct pm_heap *h, struct pm_hrun *r)
{
	uint64_t a = r->page, k = pm_heap_classes()[r->cls].pages;

	pm_heap_run_drop(h, r);
	pages_mark(h, a, k, 1);
	h->nstale++;
	__atomic_store_n(&h->vpage[a],
			 (uintptr_t)(k << 8 | PM_HX_EXTENT | PM_HX_STALE),
			 __ATOMIC_RELEASE);
}

static int run_empty(struct pm_heap *h, struct pm_hrun *r)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];

	if (!r->loaded)
		run_load_locked(h, r);
	if (r->loaded < 0)
		return 0;
	for (unsigned w = 0; w < c->nwords; w++)
		if (__atomic_load_n(&r->busy[w], __ATOMIC_SEQ_CST))
			return 0;
	return 1;
}

/* Turn the empty runs that no transaction holds into free pages: those
 * listed as partial, and the current runs of arenas not in use. */
static unsigned reclaim(struct pm_heap *h)
{
	unsigned n = 0;

	for (unsigned l = 0; l < PM_HEAP_NLIFE; l++)
		for (unsigned c = 0; c < PM_HEAP_NCLASS; c++) {
			struct pm_hrun **pp = &h->partial[l][c], *r;

			while ((r = *pp) != NULL) {
				if (!run_empty(h, r)) {
					pp = &r->next;
					continue;
				}
				*pp = r->next;
				run_stale(h, r);
				n++;
			}
		}
	for (unsigned i = 0; i < PM_HEAP_NARENAS; i++) {
		struct pm_heap_arena *a = &h->arenas[i];

		if (pthread_mutex_trylock(&a->lock))
			continue;
		for (unsigned l = 0; l < PM_HEAP_NLIFE; l++)
			for (unsigned c = 0; c < PM_HEAP_NCLASS; c++) {
				struct pm_hrun *r = a->cur[l][c];

				if (r && run_empty(h, r)) {
					a->cur[l][c] = NULL;
					run_stale(h, r);
					n++;
				}
			}
		pthread_mutex_unlock(&a->lock);
	}
	return n;
}

int pm_heap_pages_take(struct pm_heap *h, uint64_t n, int top,
		       struct pm_hpages *pg)
{
	int64_t p = pages_find(h, n, top);

	if (p < 0 && reclaim(h))
		p = pages_find(h, n, top);
	if (p < 0)
		return -ENOMEM;
	pages_mark(h, (uint64_t)p, n, 0);
	pg->p = (uint64_t)p;
	pg->n = n;
	claim_stale(h, pg);
	return 0;
}

void pm_heap_claim_undo(struct pm_heap *h, const struct pm_hpages *pg)
{
	for (uint64_t q = pg->lo; q < pg->hi; q++) {
		uint64_t v = pm_le64(h->hdrs[q]);
		struct pm_heap_block b;

		if (q < pg->p || q >= pg->p + pg->n)
			pages_mark(h, q, 1, 1);
		/* a run's header the aborted zeroing left (checked again:
		 * claim_stale() marks that many pages) */
		if (v && !phdr_bad(v, q, h->g.npages, &b)) {
			__atomic_store_n(&h->vpage[q],
					 (uintptr_t)(b.npages << 8 |
						     PM_HX_EXTENT |
						     PM_HX_STALE),
					 __ATOMIC_RELEASE);
			h->nstale++;
		}
	}
}

void pm_heap_pages_give(struct pm_heap *h, uint64_t p, uint64_t n)
{
	pages_mark(h, p, n, 1);
}

/* ---- runs ---------------------------------------------------------------- */

struct pm_hrun *pm_heap_run_new(struct pm_heap *h, uint64_t page, unsigned cls,
				unsigned life, int state)
{
	const struct pm_heap_class *c = &pm_heap_classes()[cls];
	struct pm_hrun *r = h->spare[cls];

	if (r) { /* a walker may still read it: atomic stores */
		h->spare[cls] = r->next;
		for (unsigned i = 0; i < 3 * c->nwords; i++)
			__atomic_store_n(&r->busy[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&r->loaded, 0, __ATOMIC_RELAXED);
		r->next = r->prev_all = NULL;
	} else {
		r = pm_zalloc(sizeof(*r) + 3 * c->nwords * 8);
		if (!r)
			return NULL;
		r->cls = cls; /* for good: spare runs are kept per class */
		r->busy = (uint64_t *)(r + 1);
		r->used = r->busy + c->nwords;
		r->pend = r->used + c->nwords;
	}
	__atomic_store_n(&r->page, page, __ATOMIC_RELAXED);
	r->life = life;
	/* a run this process makes has an empty bitmap: nothing to read */
	__atomic_store_n(&r->loaded, state == PM_HR_PRIVATE, __ATOMIC_RELAXED);
	__atomic_store_n(&r->state, state, __ATOMIC_SEQ_CST);
	r->next_all = h->runs;
	if (h->runs)
		h->runs->prev_all = r;
	h->runs = r;
	for (uint64_t i = 0; i < c->pages; i++)
		__atomic_store_n(&h->vpage[page + i], (uintptr_t)r,
				 __ATOMIC_RELEASE);
	return r;
}

void pm_heap_run_drop(struct pm_heap *h, struct pm_hrun *r)
{
	uint64_t np = pm_heap_classes()[r->cls].pages;

	for (uint64_t i = 0; i < np; i++)
		__atomic_store_n(&h->vpage[r->page + i], 0, __ATOMIC_RELEASE);
	if (r->prev_all)
		r->prev_all->next_all = r->next_all;
	else
		h->runs = r->next_all;
	if (r->next_all)
		r->next_all->prev_all = r->prev_all;
	/* kept: a thread may still hold a pointer it read from vpage[] */
	__atomic_store_n(&r->state, PM_HR_DEAD, __ATOMIC_SEQ_CST);
	r->next = h->spare[r->cls];
	h->spare[r->cls] = r;
}

/* Read the bitmap of @r from media (heap lock held), unless it is on a
 * bad block or damaged. */
static void run_load_locked(struct pm_heap *h, struct pm_hrun *r)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];
	const uint64_t *bits = (const void *)pm_heap_run_at(h, r);
	struct pm_pool *pool = h->pool;
	int st = 1;

	if (pm_heap_bb_hit(pool->bbs, pool->nbbs,
			   pm_heap_off(h, pm_heap_run_at(h, r)),
			   (uint64_t)c->nwords * 8))
		st = -2;
	else if (pm_heap_bits_bad(bits, r->cls))
		st = -1;
	for (unsigned w = 0; w < c->nwords && st > 0; w++) {
		r->used[w] = bits[w];
		r->busy[w] = bits[w];
	}
	__atomic_store_n(&r->loaded, st, __ATOMIC_RELEASE);
}

/* Read the bitmap on first use: 0, or PM_E_CORRUPT / PM_E_BADBLOCKS
 * (the run is then never used; pmck says more). */
int pm_heap_run_load(struct pm_heap *h, struct pm_hrun *r)
{
	int st = __atomic_load_n(&r->loaded, __ATOMIC_ACQUIRE);

	if (!st) {
		pthread_mutex_lock(&h->lock);
		if (!r->loaded)
			run_load_locked(h, r);
		st = r->loaded;
		pthread_mutex_unlock(&h->lock);
	}
	if (st < 0)
		return pm_err(st == -2 ? PM_E_BADBLOCKS : PM_E_CORRUPT,
			      "%s: heap run at offset %#llx: %s; run pmck",
			      h->pool->path,
			      (unsigned long long)
				      pm_heap_off(h, pm_heap_run_at(h, r)),
			      st == -2 ? "its bitmap is on a bad block" :
					 "its bitmap marks units past its end");
	return 0;
}

/* The mask of valid units in bitmap word @w. */
static uint64_t word_mask(const struct pm_heap_class *c, unsigned w)
{
	unsigned tail = c->nunits % 64;

	return (w == c->nwords - 1 && tail) ? (1ULL << tail) - 1 : ~0ULL;
}

int64_t pm_heap_run_grab(struct pm_hrun *r)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];

	for (unsigned w = 0; w < c->nwords; w++) {
		uint64_t m = word_mask(c, w);
		uint64_t v = __atomic_load_n(&r->busy[w], __ATOMIC_RELAXED);

		while ((v & m) != m) {
			uint64_t bit = (~v & m) & -(~v & m);

			if (__atomic_compare_exchange_n(&r->busy[w], &v,
							v | bit, 0,
							__ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED))
				return (int64_t)w * 64 + __builtin_ctzll(bit);
		}
	}
	return -1;
}

int pm_heap_run_has_free(const struct pm_hrun *r)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];

	for (unsigned w = 0; w < c->nwords; w++) {
		uint64_t m = word_mask(c, w);

		if ((__atomic_load_n(&r->busy[w], __ATOMIC_SEQ_CST) & m) != m)
			return 1;
	}
	return 0;
}

void pm_heap_run_list(struct pm_heap *h, struct pm_hrun *r)
{
	if (__atomic_load_n(&r->state, __ATOMIC_SEQ_CST) != PM_HR_NONE ||
	    !pm_heap_run_has_free(r))
		return;
	r->next = h->partial[r->life][r->cls];
	h->partial[r->life][r->cls] = r;
	__atomic_store_n(&r->state, PM_HR_PARTIAL, __ATOMIC_SEQ_CST);
}

/* ---- boot ---------------------------------------------------------------- */

static int boot_block(const struct pm_heap_block *b, void *arg)
{
	struct pm_heap *h = arg;
	struct pm_hrun *r;

	pages_mark(h, b->page, b->npages, 0);
	if (b->type == PM_HEAP_T_EXTENT) {
		h->vpage[b->page] = (uintptr_t)(b->npages << 8 | PM_HX_EXTENT |
						PM_HX_COMMITTED);
		return 0;
	}
	/* Not read yet: listed as partial, loaded when first taken. */
	r = pm_heap_run_new(h, b->page, b->cls, 0, PM_HR_PARTIAL);
	if (!r)
		return pm_err(-ENOMEM, "%s: out of memory", h->pool->path);
	r->next = h->partial[0][b->cls];
	h->partial[0][b->cls] = r;
	return 0;
}

static int boot_bad(uint64_t page, const char *why, void *arg)
{
	struct pm_heap *h = arg;

	if (page == UINT64_MAX)
		return pm_err(PM_E_CORRUPT, "%s: heap header: %s; run pmck",
			      h->pool->path, why);
	return pm_err(PM_E_CORRUPT,
		      "%s: heap page header %llu (offset %#llx): %s; run pmck",
		      h->pool->path, (unsigned long long)page,
		      (unsigned long long)(h->g.hdrs_off + page * 8), why);
}

static int heap_alloc(struct pm_pool *pool, struct pm_heap **hp)
{
	struct pm_heap *h = pm_zalloc(sizeof(*h));
	uint64_t n;

	if (!h)
		return -ENOMEM;
	*hp = h;
	h->pool = pool;
	if (pm_heap_geometry(pool->data_off, pool->data_size, &h->g))
		return PM_E_CORRUPT;
	n = h->g.npages;
	h->hh = (void *)(pool->base + h->g.hdr_off);
	h->hdrs = (void *)(pool->base + h->g.hdrs_off);
	h->pages = pool->base + h->g.pages_off;
	h->data = pool->base + pool->data_off;
	h->fbits = pm_zalloc((n + 63) / 64 * 8);
	h->seg_leaves = 1;
	while (h->seg_leaves < (n + 63) / 64)
		h->seg_leaves *= 2;
	h->seg = pm_zalloc(2 * h->seg_leaves * sizeof(*h->seg));
	h->seg_dirty = pm_zalloc((n + 4095) / 4096 * 8);
	for (int v = 0; v < 2; v++)
		h->sum[v] = pm_zalloc((n + 4095) / 4096 * 8);
	h->vpage = pm_zalloc(n * sizeof(*h->vpage));
	h->arenas = pm_zalloc_aligned(PM_HEAP_NARENAS * sizeof(*h->arenas),
				      PM_CACHELINE, &h->arenas_raw);
	h->htx = pm_zalloc(pool->nlanes * sizeof(*h->htx));
	if (!h->fbits || !h->sum[0] || !h->sum[1] || !h->seg || !h->seg_dirty ||
	    !h->vpage || !h->arenas || !h->htx)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->root_lock, NULL);
	for (unsigned i = 0; i < PM_HEAP_NARENAS; i++)
		pthread_mutex_init(&h->arenas[i].lock, NULL);
	pages_mark(h, 0, n, 1);
	return 0;
}

static void heap_free(struct pm_heap *h)
{
	if (!h)
		return;
	while (h->runs) {
		struct pm_hrun *r = h->runs;

		h->runs = r->next_all;
		pm_free(r);
	}
	for (unsigned c = 0; c < PM_HEAP_NCLASS; c++)
		while (h->spare[c]) {
			struct pm_hrun *r = h->spare[c];

			h->spare[c] = r->next;
			pm_free(r);
		}
	if (h->htx)
		for (unsigned i = 0; i < h->pool->nlanes; i++)
			pm_free(h->htx[i].ops);
	pm_free(h->htx);
	pm_free(h->arenas_raw);
	pm_free(h->vpage);
	pm_free(h->fbits);
	pm_free(h->seg);
	pm_free(h->seg_dirty);
	pm_free(h->sum[0]);
	pm_free(h->sum[1]);
	pm_free(h);
}

int pm_heap_boot(struct pm_pool *pool)
{
	struct pm_heap *h = NULL;
	struct pm_heap_scan_ops ops = { boot_block, boot_bad, NULL };
	int ret = heap_alloc(pool, &h);

	if (ret == PM_E_CORRUPT)
		ret = pm_err(ret, "%s: data area too small for a heap",
			     pool->path);
	else if (ret)
		ret = pm_err(ret, "%s: out of memory", pool->path);
	if (!ret && pm_heap_bb_hit(pool->bbs, pool->nbbs, h->g.hdr_off,
				   h->g.pages_off - h->g.hdr_off))
		ret = pm_err(PM_E_BADBLOCKS,
			     "%s: the heap's header or page headers are on a "
			     "bad block; clearing it loses them (see pmck)",
			     pool->path);
	if (!ret) {
		ops.arg = h;
		ret = pm_heap_scan(pool->base, &h->g, pool->seed, &ops);
	}
	if (ret) {
		heap_free(h);
		return ret;
	}
	pool->heap = h;
	return 0;
}

void pm_heap_shutdown(struct pm_pool *pool)
{
	heap_free(pool->heap);
	pool->heap = NULL;
}
