/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * heap.h - the heap of a pool created with PM_POOL_HEAP (heap.c: format,
 * the checks of what is on media, the volatile state; halloc.c:
 * allocation and freeing inside transactions, the root object).
 */
#ifndef PM_HEAP_H
#define PM_HEAP_H 1

#include <pthread.h>
#include <stdint.h>

#include "pool.h"

#define PM_HEAP_NCLASS 72
#define PM_HEAP_SMALL_MAX 32768 /* larger objects are extents */
#define PM_HEAP_RUN_UNITS_MAX 1024
#define PM_HEAP_RUN_PAGES_MAX 64
#define PM_HEAP_NLIFE 2 /* long-lived (default), short-lived */
#define PM_HEAP_NARENAS 64

/* A size class: unit size, run geometry (the format fixes them). */
struct pm_heap_class {
	uint32_t size;	 /* unit bytes */
	uint32_t pages;	 /* pages per run */
	uint32_t nunits; /* units per run */
	uint32_t nwords; /* bitmap words at the run's start */
	uint32_t hdr;	 /* bytes before the first unit */
};

/* The class table, computed once (pthread_once). */
const struct pm_heap_class *pm_heap_classes(void);
/* The class of an object of @size bytes (1..PM_HEAP_SMALL_MAX). */
unsigned pm_heap_class_of(uint64_t size);

/* The heap's geometry, as create computes it from the data area. */
struct pm_heap_geo {
	uint64_t hdr_off; /* pool offsets */
	uint64_t hdrs_off;
	uint64_t pages_off;
	uint64_t npages;
};
/* 0, or -1 if the data area cannot hold a heap of one page. */
int pm_heap_geometry(uint64_t data_off, uint64_t data_size,
		     struct pm_heap_geo *g);

/* A decoded page header. */
struct pm_heap_block {
	uint64_t page;
	uint32_t type; /* PM_HEAP_T_* */
	uint32_t cls;
	uint64_t npages;
};
static inline uint64_t pm_heap_phdr(uint32_t type, uint32_t cls,
				    uint64_t npages)
{
	return type | (uint64_t)cls << 8 | (uint64_t)PM_HEAP_TAG << 16 |
	       npages << 32;
}

/*
 * What open and pmck both check: the heap header (against @g), then every
 * page header in order.  @block is called for each block, @bad for each
 * fault found (page header @page, or UINT64_MAX for the heap header),
 * with what is wrong; a non-zero return of either stops the scan and is
 * returned.  A header fault ends the scan (nothing else can be trusted).
 */
struct pm_heap_scan_ops {
	int (*block)(const struct pm_heap_block *b, void *arg);
	int (*bad)(uint64_t page, const char *why, void *arg);
	void *arg;
};
int pm_heap_scan(const uint8_t *base, const struct pm_heap_geo *g,
		 uint32_t seed, const struct pm_heap_scan_ops *ops);
/* Check a run's bitmap @bits (as on media) for class @cls: 0, or why
 * not. */
const char *pm_heap_bits_bad(const uint64_t *bits, unsigned cls);

/* ---- the volatile heap of an open pool ---- */

/* A run: where it is, its units (volatile bitmaps, each nwords long). */
struct pm_hrun {
	uint64_t page;
	uint32_t cls;
	uint32_t life;
	int state;	      /* HR_* (heap.c), atomic */
	int loaded;	      /* 0: bitmaps not read yet; 1 read; -1 damaged */
	uint64_t *busy;	      /* not allocatable: used, reserved, being freed */
	uint64_t *used;	      /* allocated by a committed transaction */
	uint64_t *pend;	      /* freed by a transaction in flight */
	struct pm_hrun *next; /* partial list (heap lock) */
	struct pm_hrun *prev_all, *next_all; /* every run (heap lock) */
};

enum { PM_HR_PRIVATE, PM_HR_NONE, PM_HR_ARENA, PM_HR_PARTIAL, PM_HR_DEAD };

/* vpage[] of an extent's first page: npages << 8 | these bits. */
#define PM_HX_EXTENT 1U
#define PM_HX_COMMITTED 2U
#define PM_HX_PENDING 4U
/* The first page of an empty run whose pages are free but whose header
 * on media still says "run" (PM_HX_EXTENT | PM_HX_STALE, npages << 8):
 * whoever takes any of its pages claims them all and zeroes the header
 * (pm_heap_pages_take()). */
#define PM_HX_STALE 8U

struct pm_heap_arena {
	pthread_mutex_t lock;
	struct pm_hrun *cur[PM_HEAP_NLIFE][PM_HEAP_NCLASS];
} __attribute__((aligned(64)));

/* One allocation or free of a transaction in flight. */
struct pm_hop {
	uint64_t page; /* extent: its first page; claim: the block's */
	struct pm_hrun *run;
	uint32_t idx; /* unit in the run */
	uint32_t kind;
	uint64_t lo, hi, n; /* claim: pages [lo, hi) around the block */
};

/* Pages a transaction took: the block [p, p + n) and what it claimed
 * around it, [lo, hi). */
struct pm_hpages {
	uint64_t p, n, lo, hi;
	unsigned claimed; /* stale runs claimed */
};

struct pm_htx {
	struct pm_hop *ops;
	size_t n, cap;
	unsigned nclaims;      /* OP_CLAIM among them */
	struct pm_hrun *fresh; /* runs this transaction made (private) */
};

/* A node of the free pages' index: free pages at its low and high ends,
 * the longest free stretch in it. */
struct pm_hseg {
	uint64_t pre, suf, max;
};

struct pm_heap {
	struct pm_pool *pool;
	struct pm_heap_geo g;
	struct pm_heap_hdr *hh;
	uint64_t *hdrs;	      /* page headers on media */
	uint8_t *pages;	      /* page 0 */
	uint8_t *data;	      /* the data area (redo offsets count from it) */
	pthread_mutex_t lock; /* pages, partial lists, loading, extents */
	uint64_t *fbits;      /* 1: free page */
	uint64_t *sum[2];    /* bit w: fbits[w] has a used (0) / free (1) bit */
	struct pm_hseg *seg; /* the free pages' index (heap.c) */
	uint64_t seg_leaves; /* its leaves: words of fbits, a power of 2 */
	uint64_t *seg_dirty; /* bit w: word w changed since seg was used */
	uint64_t seg_ndirty; /* bits set in seg_dirty */
	unsigned scan_skip;  /* searches left that go to seg directly */
	uintptr_t *vpage;    /* run pointer on each of its pages, extent
			       * bits on its first page, else 0 */
	uint64_t nstale;     /* at least the PM_HX_STALE marks in vpage */
	struct pm_hrun *partial[PM_HEAP_NLIFE][PM_HEAP_NCLASS];
	struct pm_hrun *runs;		       /* all of them */
	struct pm_hrun *spare[PM_HEAP_NCLASS]; /* dropped, for reuse */
	struct pm_heap_arena *arenas;
	void *arenas_raw;   /* their allocation */
	struct pm_htx *htx; /* per lane */
	pthread_mutex_t root_lock;
};

/* At create, on the fresh data area: the heap header, zeroed page
 * headers, written back (the pool header's write fences them). */
int pm_heap_format(struct pm_pool *pool);
/* At open, after recovery: check the heap, build its volatile state. */
int pm_heap_boot(struct pm_pool *pool);
void pm_heap_shutdown(struct pm_pool *pool);

/* For halloc.c: the heap lock is held by the caller where noted. */
/* Take @n free pages (@top: from the heap's end), reclaiming empty runs
 * if there are none; *@pg gets them and the stale run pages they claim
 * (whose headers the caller must zero).  0 or -ENOMEM.  (lock) */
int pm_heap_pages_take(struct pm_heap *h, uint64_t n, int top,
		       struct pm_hpages *pg);
/* Undo a take's claim after an abort: stale marks back from the
 * headers on media, the claimed pages free.  (lock) */
void pm_heap_claim_undo(struct pm_heap *h, const struct pm_hpages *pg);
void pm_heap_pages_give(struct pm_heap *h, uint64_t p, uint64_t n); /* lock */
int pm_heap_run_load(struct pm_heap *h, struct pm_hrun *r);
int64_t pm_heap_run_grab(struct pm_hrun *r);
int pm_heap_run_has_free(const struct pm_hrun *r);
void pm_heap_run_list(struct pm_heap *h, struct pm_hrun *r); /* lock */
void pm_heap_run_drop(struct pm_heap *h, struct pm_hrun *r); /* lock */
/* A run's volatile state, in @state (PM_HR_PRIVATE: made by this
 * process, its bitmap empty; else read from media on first use). */
struct pm_hrun *pm_heap_run_new(struct pm_heap *h, uint64_t page, unsigned cls,
				unsigned life, int state); /* lock */

/* Does [@off, +@len) of the pool file overlap a listed bad range?
 * Reading it would fault (SIGBUS): the heap refuses instead. */
static inline int pm_heap_bb_hit(const struct pm_pool_badblock *bbs, size_t n,
				 uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < n; i++)
		if (off < bbs[i].offset + bbs[i].length &&
		    bbs[i].offset < off + len)
			return 1;
	return 0;
}

/* Is page @p free? (heap lock) */
static inline int pm_heap_page_free(const struct pm_heap *h, uint64_t p)
{
	return (h->fbits[p / 64] >> (p % 64)) & 1;
}

/* A run's first page: atomic, a dropped run is reused for another. */
static inline uint64_t pm_heap_run_page(const struct pm_hrun *r)
{
	return __atomic_load_n(&r->page, __ATOMIC_RELAXED);
}

static inline uint8_t *pm_heap_run_at(const struct pm_heap *h,
				      const struct pm_hrun *r)
{
	return h->pages + pm_heap_run_page(r) * PM_HEAP_PAGE;
}

/* The pool offset of unit @idx of run @r. */
static inline uint64_t pm_heap_unit_off(const struct pm_heap *h,
					const struct pm_hrun *r, uint64_t idx)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];

	return h->g.pages_off + pm_heap_run_page(r) * PM_HEAP_PAGE + c->hdr +
	       idx * c->size;
}

/* The run or extent @off points into: its vpage[] word, *pagep its page;
 * 0 if @off is outside the heap. */
static inline uintptr_t pm_heap_lookup(const struct pm_heap *h, uint64_t off,
				       uint64_t *pagep)
{
	if (off < h->g.pages_off ||
	    off - h->g.pages_off >= h->g.npages * PM_HEAP_PAGE)
		return 0;
	*pagep = (off - h->g.pages_off) / PM_HEAP_PAGE;
	return __atomic_load_n(&h->vpage[*pagep], __ATOMIC_ACQUIRE);
}

/* The unit @off is the start of in run @r: its index, or -1. */
static inline int64_t pm_heap_unit_of(const struct pm_heap *h,
				      const struct pm_hrun *r, uint64_t off)
{
	const struct pm_heap_class *c = &pm_heap_classes()[r->cls];
	uint64_t first = pm_heap_unit_off(h, r, 0), k;

	if (off < first || (off - first) % c->size)
		return -1;
	k = (off - first) / c->size;
	return k < c->nunits ? (int64_t)k : -1;
}

/* The pool offset of @p, a pointer into the heap. */
static inline uint64_t pm_heap_off(const struct pm_heap *h, const void *p)
{
	return (uint64_t)((const uint8_t *)p - h->pool->base);
}

/* The data-area offset of @p, a pointer into the heap. */
static inline uint64_t pm_heap_doff(const struct pm_heap *h, const void *p)
{
	return (uint64_t)((const uint8_t *)p - h->data);
}

#endif /* PM_HEAP_H */
