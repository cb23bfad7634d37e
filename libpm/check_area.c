/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check_area.c - what the checker says about each structure: the header
 * copies, the shutdown record, bad blocks, lanes, the log and the data
 * area.  Each is judged by its own module's code (pool.c, usc.c, bbmap.c,
 * tx.c, log.c), never parsed here; this file turns their answers into
 * findings.  Reads only: the pool is mapped read-only.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>

#include "check_area.h"
#include "heap.h"
#include "log.h"
#include "txrecov.h"
#include "usc.h"

/* ---- headers ----------------------------------------------------------- */

static const uint64_t hdr_offs[2] = { PM_HDR_A_OFF, PM_HDR_B_OFF };

/* Read header copy @i; st/why as pm_hdr_check() gives them. */
static int read_header(struct pm_ck *c, int i, struct pm_hdr *h,
		       const char **why)
{
	int ret = pm_ck_pread(c, h, hdr_offs[i], sizeof(*h));

	if (ret == -EIO) {
		memset(h, 0, sizeof(*h));
		*why = "cannot be read (media error)";
		return PM_E_CORRUPT;
	}
	if (ret)
		return pm_err(ret, "%s: read: %s", c->path, pm_strerror(ret));
	ret = pm_hdr_check(h, c->file_size, why);
	if (hdr_offs[i] >= c->file_size)
		*why = "missing: the file ends before it";
	else if (!pm_range_ok(hdr_offs[i], sizeof(*h), c->file_size))
		*why = "cut short: the file ends inside it";
	return ret;
}

static void report_bad_header(struct pm_ck *c, int i, int st, const char *why,
			      const struct pm_hdr *h, int best)
{
	static const char *const rebuild[2] = {
		"rewrite header A from header B",
		"rewrite header B from header A",
	};
	enum pm_check_severity sev = best >= 0 ? PM_CHECK_REPAIRABLE :
						 PM_CHECK_FATAL;
	const char *repair =
		best >= 0 ? rebuild[i] :
			    "none: no valid header copy to rebuild from";
	const char *name = pm_area_name((enum pm_area)i);

	if (st == PM_E_TRUNCATED)
		pm_ck_find(c, sev, (enum pm_area)i, name, hdr_offs[i],
			   sizeof(*h), repair,
			   "file is %" PRIu64
			   " bytes but pool_size is %" PRIu64,
			   c->file_size, pm_le64(h->pool_size));
	else
		pm_ck_find(c, sev, (enum pm_area)i, name, hdr_offs[i],
			   sizeof(*h), repair, "%s", why);
}

/* Both copies valid: open rewrites the older one if they differ at all. */
static void compare_headers(struct pm_ck *c, const struct pm_hdr h[2], int best)
{
	int o = !best;

	if (!memcmp(&h[0], &h[1], sizeof(h[0])))
		return;
	pm_ck_find(c, PM_CHECK_REPAIRABLE, (enum pm_area)o,
		   pm_area_name((enum pm_area)o), hdr_offs[o], sizeof(h[o]),
		   o ? "rewrite header B from header A" :
		       "rewrite header A from header B",
		   "valid but older than header %c (gen %" PRIu64 " < %" PRIu64
		   ")",
		   best ? 'B' : 'A', pm_le64(h[o].gen), pm_le64(h[best].gen));
}

/* Map the file read-only and describe it as header copy @h says. */
static int make_view(struct pm_ck *c, const struct pm_hdr *h)
{
	int ret = pm_map_file(c->path, 0, PM_MAP_READONLY, &c->map);

	if (ret)
		return ret;
	pm_pool_view(&c->view, h);
	c->view.map = c->map;
	c->view.base = c->map->addr;
	c->view.path = (char *)c->path;
	c->have_view = 1;
	return 0;
}

void pm_ck_view_free(struct pm_ck *c)
{
	pm_unmap(c->map);
	c->map = NULL;
	c->have_view = 0;
}

/*
 * Judge both header copies with pool.c's own checks and choose the copy
 * open would choose.  Return PM_E_NOT_POOL / PM_E_VERSION when the file is
 * not something to check, 0 otherwise (findings say what is wrong; the
 * view is set up only if a copy is valid).
 */
int pm_ck_headers(struct pm_ck *c)
{
	struct pm_hdr h[2];
	const char *why[2];
	int st[2], best;

	for (int i = 0; i < 2; i++) {
		st[i] = read_header(c, i, &h[i], &why[i]);
		if (st[i] < 0 && st[i] > PM_E_BASE)
			return st[i];
	}
	pm_ck_progress(c, 2 * sizeof(h[0]));
	if (st[0] == PM_E_NOT_POOL && st[1] == PM_E_NOT_POOL)
		return pm_err(PM_E_NOT_POOL,
			      "%s: no pool magic in either header copy",
			      c->path);
	if (st[0] == PM_E_VERSION && st[1] == PM_E_VERSION)
		return pm_err(PM_E_VERSION, "%s: pool format version %u",
			      c->path, pm_le32(h[0].version));
	best = pm_hdr_pick(h, st);
	for (int i = 0; i < 2; i++) {
		if (st[i])
			report_bad_header(c, i, st[i], why[i], &h[i], best);
		else
			pm_ck_find(c, PM_CHECK_INFO, (enum pm_area)i,
				   pm_area_name((enum pm_area)i), hdr_offs[i],
				   sizeof(h[i]), NULL,
				   "valid (gen %" PRIu64 ")",
				   pm_le64(h[i].gen));
	}
	if (best < 0)
		return 0;
	if (!st[0] && !st[1])
		compare_headers(c, h, best);
	return make_view(c, &h[best]);
}

/* ---- lanes ------------------------------------------------------------- */

/* Damage that costs committed data: fatal, or with
 * PM_CHECK_DISCARD_DAMAGED repairable by dropping that data. */
static enum pm_check_severity costly(const struct pm_ck *c)
{
	return (c->flags & PM_CHECK_DISCARD_DAMAGED) ? PM_CHECK_REPAIRABLE :
						       PM_CHECK_FATAL;
}

/* What repair does about lane damage that costs committed data. */
static const char *drop_text(const struct pm_ck *c,
			     const struct pm_tx_lane_scan *ls, char *buf,
			     size_t len)
{
	if (!(c->flags & PM_CHECK_DISCARD_DAMAGED))
		return "none: recovery refuses the pool; --discard-damaged "
		       "drops the transactions";
	if (!ls->dropped)
		return "recovery rebuilds it: no committed transaction is lost";
	snprintf(buf, len,
		 "discard %" PRIu64 " committed transaction%s (seq "
		 "%" PRIu64 "..%" PRIu64 ", %" PRIu64 " bytes)",
		 ls->dropped, ls->dropped == 1 ? "" : "s", ls->first_dropped,
		 ls->last_dropped, ls->dropped_bytes);
	return buf;
}

static int lane_found(const struct pm_tx_lane_scan *ls, void *arg)
{
	struct pm_ck *c = arg;
	const struct pm_pool *v = &c->view;
	uint64_t off = v->lanes_off + (uint64_t)ls->lane * v->lane_size;
	char what[32], drop[128];

	snprintf(what, sizeof(what), "lane %u", ls->lane);
	if (ls->slot < 0) {
		/* Guessing retired or hint could replay an entry older than
		 * what is applied (rolling data back) or skip a committed
		 * one: nothing safe to rebuild the header from. */
		pm_ck_find(c, costly(c), PM_AREA_LANES, what, off,
			   sizeof(struct pm_lane_hdr),
			   drop_text(c, ls, drop, sizeof(drop)),
			   "lane header damaged: neither slot is valid "
			   "(slot 0: %s; slot 1: %s)",
			   ls->slot_why[0], ls->slot_why[1]);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		char slot[48], repair[64];

		if (ls->slot_ok[i])
			continue;
		snprintf(slot, sizeof(slot), "lane %u header slot %d", ls->lane,
			 i);
		snprintf(repair, sizeof(repair),
			 "recovery rewrites it from slot %d", !i);
		pm_ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LANES, slot,
			   off + i * sizeof(struct pm_lane_slot),
			   sizeof(struct pm_lane_slot), repair,
			   "invalid (%s): torn by a crash or damaged",
			   ls->slot_why[i]);
	}
	if (ls->orphans)
		pm_ck_find(c, costly(c), PM_AREA_LANES, what,
			   off + sizeof(struct pm_lane_hdr) + ls->tail,
			   ls->orphan_off > ls->tail ?
				   ls->orphan_off - ls->tail :
				   PM_CACHELINE,
			   drop_text(c, ls, drop, sizeof(drop)),
			   "%" PRIu64
			   " committed transaction%s from seq %" PRIu64
			   " cut off by a damaged entry at the chain's end",
			   ls->orphans, ls->orphans == 1 ? "" : "s",
			   ls->first_orphan);
	if (ls->pending)
		pm_ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LANES, what,
			   off + sizeof(struct pm_lane_hdr) + ls->pending_off,
			   v->lane_size - sizeof(struct pm_lane_hdr) -
				   ls->pending_off,
			   "replay them in seq order, as recovery does",
			   "%" PRIu64
			   " committed transaction%s not yet retired "
			   "(seq %" PRIu64 "..%" PRIu64 ")",
			   ls->pending, ls->pending == 1 ? "" : "s",
			   ls->first_pending, ls->last_pending);
	else if (!ls->orphans)
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_LANES, what, off,
			   v->lane_size, NULL,
			   "retired %" PRIu64 ", nothing to replay",
			   ls->retired);
	return 0;
}

/* The lanes through txrecov.c's own recovery scan, after a media check. */
void pm_ck_lanes(struct pm_ck *c)
{
	struct pm_pool *v = &c->view;
	uint64_t len = (uint64_t)v->nlanes * v->lane_size, r;
	int bad = 0, ret;

	ret = pm_ck_scan(c, v->lanes_off, len, PM_AREA_LANES, "lanes",
			 PM_CHECK_REPAIRABLE,
			 "clear the bad block; transactions in it are lost",
			 &bad);
	if (ret || bad)
		return;
	ret = pm_tx_scan(v, &r, lane_found, c);
	if (ret)
		pm_ck_find(c, PM_CHECK_FATAL, PM_AREA_LANES, "lanes",
			   v->lanes_off, len, NULL, "cannot be scanned: %s",
			   pm_strerror(ret));
}

/* ---- the log ----------------------------------------------------------- */

static int blank(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

static void log_slots(struct pm_ck *c, const struct pm_log_scan *s)
{
	const struct pm_log_hdr *h = pm_pool_at(&c->view, c->view.log_off);

	for (int i = 0; i < 2; i++) {
		char what[32], repair[64];

		/* A slot that was never written is all zero. */
		if (s->slot_ok[i] || blank(&h->slot[i], sizeof(h->slot[i])))
			continue;
		snprintf(what, sizeof(what), "log header slot %d", i);
		snprintf(repair, sizeof(repair),
			 "recovery rewrites it from slot %d", !i);
		pm_ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LOG, what,
			   c->view.log_off + i * sizeof(h->slot[i]),
			   sizeof(h->slot[i]), repair,
			   "checksum or fields wrong (slot %d, gen %" PRIu64
			   ", is used)",
			   !i, s->gen);
	}
}

/* What lies past the chain: damage that cut off acknowledged records
 * (fatal: open refuses) or appends a crash cut short (recovery drops). */
static void log_past(struct pm_ck *c, const struct pm_log_scan *s)
{
	uint64_t ring = c->view.log_off + sizeof(struct pm_log_hdr);
	uint64_t n = s->drop_last - s->drop_first + 1;
	uint64_t at = s->torn_off != UINT64_MAX ? s->torn_off : s->past_off;
	char repair[160];

	if (at == UINT64_MAX)
		return;
	if (!s->acked) {
		snprintf(repair, sizeof(repair),
			 "drop %" PRIu64 " record%s (seq %" PRIu64 "..%" PRIu64
			 ", never acknowledged): the log ends at seq %" PRIu64,
			 n, n == 1 ? "" : "s", s->drop_first, s->drop_last,
			 s->next_seq - 1);
		pm_ck_find(c, PM_CHECK_REPAIRABLE, PM_AREA_LOG, "log record",
			   ring + at, sizeof(struct pm_log_rec), repair,
			   "records from seq %" PRIu64 " after the last valid "
			   "one are an append a crash cut short",
			   s->drop_first);
		return;
	}
	if (c->flags & PM_CHECK_DISCARD_DAMAGED)
		snprintf(repair, sizeof(repair),
			 "discard %" PRIu64
			 " acknowledged record%s (seq %" PRIu64 "..%" PRIu64
			 ")",
			 n, n == 1 ? "" : "s", s->drop_first, s->drop_last);
	else
		snprintf(repair, sizeof(repair),
			 "none: open refuses the log; --discard-damaged drops "
			 "%" PRIu64 " record%s (seq %" PRIu64 "..%" PRIu64 ")",
			 n, n == 1 ? "" : "s", s->drop_first, s->drop_last);
	if (n == 1 && s->torn_off != UINT64_MAX)
		pm_ck_find(c, costly(c), PM_AREA_LOG, "log record", ring + at,
			   sizeof(struct pm_log_rec), repair,
			   "acknowledged record seq %" PRIu64 " is damaged",
			   s->next_seq);
	else
		pm_ck_find(c, costly(c), PM_AREA_LOG, "log record", ring + at,
			   sizeof(struct pm_log_rec), repair,
			   "the log ends at seq %" PRIu64 " before a damaged "
			   "record: acknowledged records seq %" PRIu64
			   "..%" PRIu64 " are lost or cut off",
			   s->next_seq - 1, s->drop_first, s->drop_last);
}

static void log_chain(struct pm_ck *c, const struct pm_log_scan *s)
{
	log_past(c, s);
	pm_ck_find(c, PM_CHECK_INFO, PM_AREA_LOG, "log", c->view.log_off,
		   c->view.log_size, NULL,
		   "%" PRIu64 " records (seq %" PRIu64 "..%" PRIu64
		   "), %" PRIu64 " of %" PRIu64
		   " ring bytes used, gen %" PRIu64,
		   s->next_seq - s->first_seq, s->first_seq, s->next_seq - 1,
		   s->used, s->cap, s->gen);
}

/* The log through log.c's own recovery scan, after a media check. */
void pm_ck_log(struct pm_ck *c)
{
	const struct pm_pool *v = &c->view;
	struct pm_log_scan s;
	int bad = 0, ret;

	if (!v->log_size)
		return;
	ret = pm_ck_scan(c, v->log_off, v->log_size, PM_AREA_LOG, "log",
			 PM_CHECK_REPAIRABLE,
			 "clear the bad block; records in it are lost", &bad);
	if (ret || bad)
		return;
	ret = pm_log_area_scan(pm_pool_at(v, v->log_off), v->log_size, v->seed,
			       &s);
	if (ret) {
		pm_ck_find(c, PM_CHECK_FATAL, PM_AREA_LOG, "log", v->log_off,
			   v->log_size, NULL, "cannot be scanned: %s",
			   pm_strerror(ret));
		return;
	}
	if (s.slot < 0) {
		pm_ck_find(c, PM_CHECK_FATAL, PM_AREA_LOG, "log header",
			   v->log_off, sizeof(struct pm_log_hdr),
			   "none: the pool cannot be opened",
			   "neither header slot is valid");
		return;
	}
	log_slots(c, &s);
	log_chain(c, &s);
}

/* ---- bad blocks and shutdown state ------------------------------------- */

static const char *bb_repair(enum pm_area area)
{
	switch (area) {
	case PM_AREA_HEADER_A:
		return "clear it; header A is rewritten from header B";
	case PM_AREA_HEADER_B:
		return "clear it; header B is rewritten from header A";
	case PM_AREA_LANES:
		return "clear it; its bytes are lost: transactions there are "
		       "not replayed";
	case PM_AREA_LOG:
		return "clear it; records in it are lost: if acknowledged "
		       "ones follow, open then refuses the log";
	case PM_AREA_DATA:
		return "clear it; its bytes are lost and read as zero";
	default:
		return "clear it; nothing is lost";
	}
}

/* Does bad range @b cover part of a lane header? */
static int lane_hdr_hit(const struct pm_ck *c, const struct pm_pool_badblock *b)
{
	uint64_t h = c->view.lanes_off + (uint64_t)b->lane * c->view.lane_size;

	return b->area == PM_AREA_LANES &&
	       b->offset < h + sizeof(struct pm_lane_hdr) &&
	       h < b->offset + b->length;
}

/* Both slots of a lane header share a sector: on a bad block it has no
 * stand-in, and clearing it loses the lane's record of what is applied
 * (open then refuses the pool).  Fatal, unless discarding. */
static void bb_lane_hdr(struct pm_ck *c, const struct pm_pool_badblock *b,
			const char *what)
{
	int discard = c->flags & PM_CHECK_DISCARD_DAMAGED;

	if (discard)
		pm_ck_to_clear(c, b->offset, b->length);
	pm_ck_find(c, costly(c), b->area, what, b->offset, b->length,
		   discard ? "clear it; the lane header is lost: recovery "
			     "discards the lane's transactions above the "
			     "retire watermark and says how many" :
			     "none: the lane header has no second copy; "
			     "--discard-damaged clears it and drops the "
			     "lane's unretired transactions",
		   "%" PRIu64 " bytes the device reports unreadable, over "
		   "lane %u's header",
		   b->length, b->lane);
}

/* The bad blocks the device reports, named by the structure they hit
 * (bbmap.c does the mapping).  A list that cannot be had for another
 * reason than "the device cannot tell" stops the check. */
int pm_ck_badblocks(struct pm_ck *c)
{
	int ret = pm_pool_badblocks_list(c->path, &c->bbs, &c->nbbs);

	if (ret == -ENOTSUP) {
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_NONE, "bad blocks", 0, 0,
			   NULL, "the device cannot report them");
		return 0;
	}
	if (ret)
		return pm_err(ret, "%s: bad blocks cannot be listed: %s",
			      c->path, pm_strerror(ret));
	for (size_t i = 0; i < c->nbbs; i++) {
		const struct pm_pool_badblock *b = &c->bbs[i];
		char what[48];

		if (b->area == PM_AREA_LANES)
			snprintf(what, sizeof(what), "bad block in lane %u",
				 b->lane);
		else
			snprintf(what, sizeof(what), "bad block in %s",
				 pm_area_name(b->area));
		if (lane_hdr_hit(c, b)) {
			bb_lane_hdr(c, b, what);
			continue;
		}
		pm_ck_to_clear(c, b->offset, b->length);
		pm_ck_find(c, PM_CHECK_REPAIRABLE, b->area, what, b->offset,
			   b->length, bb_repair(b->area),
			   "%" PRIu64 " bytes the device reports unreadable",
			   b->length);
	}
	if (!c->nbbs)
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_NONE, "bad blocks", 0, 0,
			   NULL, "none reported by the device");
	return 0;
}

/* usc.c's judgement of the unsafe-shutdown record in the header. */
void pm_ck_shutdown(struct pm_ck *c)
{
	const struct pm_hdr *h = &c->view.hdr;
	uint64_t usc = 0, id = 0;
	int rret = pm_usc_read(c->fd, &usc, &id);

	switch (pm_usc_judge(h, rret, usc, id)) {
	case PM_SHUTDOWN_DIRTY:
		c->unsafe = 1;
		pm_ck_find(c, PM_CHECK_FATAL, PM_AREA_HEADER_A,
			   "shutdown state", offsetof(struct pm_hdr, usc), 24,
			   "none: verify the data, then open the pool once with "
			   "PM_POOL_IGNORE_SHUTDOWN",
			   "the DIMMs' dirty-shutdown count went from %" PRIu64
			   " to %" PRIu64 " while the pool was open: data made "
			   "durable may be lost",
			   pm_le64(h->usc), usc);
		return;
	case PM_SHUTDOWN_UNSUPPORTED:
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_HEADER_A, "shutdown state",
			   offsetof(struct pm_hdr, usc), 24, NULL,
			   "the platform cannot tell%s",
			   h->dirty ? "; the pool was not closed" : "");
		return;
	default:
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_HEADER_A, "shutdown state",
			   offsetof(struct pm_hdr, usc), 24, NULL, "%s%s",
			   rret ? "counters unreadable" : "no unsafe shutdown",
			   h->dirty ? "; the pool was not closed" : "");
	}
}

/* ---- the data area ----------------------------------------------------- */

void pm_ck_data(struct pm_ck *c)
{
	const struct pm_pool *v = &c->view;
	int ret;

	ret = pm_ck_scan(c, v->data_off, v->data_size, PM_AREA_DATA,
			 "data area", PM_CHECK_REPAIRABLE,
			 "clear the bad block; its bytes are lost and read "
			 "as zero",
			 NULL);
	if (ret)
		pm_ck_find(c, PM_CHECK_FATAL, PM_AREA_DATA, "data area",
			   v->data_off, v->data_size, NULL,
			   "cannot be read: %s", pm_strerror(ret));
	else
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_DATA, "data area",
			   v->data_off, v->data_size, NULL,
			   "%" PRIu64 " bytes read", v->data_size);
}

/* ---- the heap ------------------------------------------------------------ */

struct heap_ck {
	struct pm_ck *c;
	const uint8_t *base; /* the pool as recovery would leave it */
	struct pm_heap_geo g;
	uint64_t root, root_size, objects, bytes, runs, extents, used_pages;
	int root_ok;
};

static int heap_bad(uint64_t page, const char *why, void *arg)
{
	struct heap_ck *k = arg;

	if (page == UINT64_MAX)
		pm_ck_find(k->c, PM_CHECK_FATAL, PM_AREA_DATA, "heap header",
			   k->g.hdr_off, sizeof(struct pm_heap_hdr),
			   "none: the heap cannot be trusted; open refuses it",
			   "%s", why);
	else
		pm_ck_find(k->c, PM_CHECK_FATAL, PM_AREA_DATA,
			   "heap page header", k->g.hdrs_off + page * 8, 8,
			   "none: open refuses the pool",
			   "page %" PRIu64 ": %s", page, why);
	return 0;
}

/* A run: its bitmap, its objects, the root among them. */
static void heap_run(struct heap_ck *k, const struct pm_heap_block *b)
{
	const struct pm_heap_class *cl = &pm_heap_classes()[b->cls];
	uint64_t at = k->g.pages_off + b->page * PM_HEAP_PAGE;
	const uint64_t *bits = (const void *)(k->base + at);
	const char *why = NULL;
	uint64_t n = 0; /* this run's objects */

	if (pm_heap_bb_hit(k->c->bbs, k->c->nbbs, at, (uint64_t)cl->nwords * 8))
		why = "its bitmap is on a bad block";
	else
		why = pm_heap_bits_bad(bits, b->cls);

	if (why) {
		pm_ck_find(k->c, PM_CHECK_FATAL, PM_AREA_DATA, "heap run", at,
			   (uint64_t)cl->nwords * 8,
			   "none: the run is not used; its objects are kept",
			   "run of %u-byte units: %s", cl->size, why);
		return;
	}
	for (unsigned w = 0; w < cl->nwords; w++) {
		uint64_t v = pm_le64(bits[w]);

		n += (uint64_t)__builtin_popcountll(v);
		for (; v && k->root >= at && k->root_size <= cl->size;
		     v &= v - 1)
			k->root_ok |= k->root ==
				      at + cl->hdr +
					      (w * 64ULL + __builtin_ctzll(v)) *
						      cl->size;
	}
	k->objects += n;
	k->bytes += (uint64_t)cl->size * n;
}

static int heap_block(const struct pm_heap_block *b, void *arg)
{
	struct heap_ck *k = arg;
	uint64_t at = k->g.pages_off + b->page * PM_HEAP_PAGE;
	uint64_t before = k->objects;

	k->used_pages += b->npages;
	if (b->type == PM_HEAP_T_EXTENT) {
		k->extents++;
		k->objects++;
		k->bytes += b->npages * PM_HEAP_PAGE;
		k->root_ok |= k->root == at &&
			      k->root_size <= b->npages * PM_HEAP_PAGE;
		return 0;
	}
	k->runs++;
	k->objects = 0;
	heap_run(k, b);
	k->objects += before;
	return 0;
}

/* The root recorded in the heap header must be an allocated object. */
static void heap_root(struct heap_ck *k)
{
	const struct pm_heap_hdr *hh = (const void *)(k->base + k->g.hdr_off);

	if (!k->root || k->root_ok)
		return;
	pm_ck_find(k->c, PM_CHECK_FATAL, PM_AREA_DATA, "heap root",
		   k->g.hdr_off + offsetof(struct pm_heap_hdr, root_off), 16,
		   "none: pm_pool_root() refuses it",
		   "root object at %#" PRIx64 " (%" PRIu64
		   " bytes) is not an allocated object of that size",
		   k->root, pm_le64(hh->root_size));
}

/*
 * The heap as open would find it: on a private copy of the file, the
 * committed transactions recovery would replay applied first, then the
 * same checks as open (heap header, page headers: pm_heap_scan()) and
 * more (every run's bitmap, the root).  Nothing is repaired: the heap's
 * metadata has no second copy, and objects are never dropped.
 */
void pm_ck_heap(struct pm_ck *c)
{
	struct heap_ck k = { .c = c };
	struct pm_heap_scan_ops ops = { heap_block, heap_bad, &k };
	struct pm_pool pv = c->view;
	uint64_t n = 0;
	uint8_t *copy;
	int ret;

	if (!(c->view.features & PM_HDR_F_HEAP))
		return;
	if (pm_heap_geometry(pv.data_off, pv.data_size, &k.g)) {
		heap_bad(UINT64_MAX, "data area too small for a heap", &k);
		return;
	}
	if (pm_heap_bb_hit(c->bbs, c->nbbs, k.g.hdr_off,
			   k.g.pages_off - k.g.hdr_off)) {
		heap_bad(UINT64_MAX,
			 "the heap's header or page headers are on a bad "
			 "block (no second copy)",
			 &k);
		return;
	}
	copy = mmap(NULL, pv.pool_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    c->fd, 0);
	if (copy == MAP_FAILED) {
		c->nomem = 1;
		return;
	}
	/* The rings are read where the lane check read them (the copy
	 * would fault them in again); only the data is the copy's. */
	ret = pm_tx_replay_dry(&pv, copy + pv.data_off, &n);
	if (ret) {
		pm_ck_find(c, PM_CHECK_INFO, PM_AREA_DATA, "heap", k.g.hdr_off,
			   pv.data_size, NULL,
			   "not checked: recovery cannot replay the lanes "
			   "(%s)",
			   pm_strerror(ret));
		munmap(copy, pv.pool_size);
		return;
	}
	k.base = copy;
	k.root = pm_le64(
		((const struct pm_heap_hdr *)(copy + k.g.hdr_off))->root_off);
	k.root_size = pm_le64(
		((const struct pm_heap_hdr *)(copy + k.g.hdr_off))->root_size);
	if (pm_heap_scan(copy, &k.g, pv.seed, &ops) == 0 && !c->nfatal)
		heap_root(&k);
	pm_ck_find(c, PM_CHECK_INFO, PM_AREA_DATA, "heap", k.g.hdr_off,
		   pv.data_size, NULL,
		   "%" PRIu64 " objects (%" PRIu64 " bytes) in %" PRIu64
		   " runs and %" PRIu64 " extents; %" PRIu64 " of %" PRIu64
		   " pages free%s",
		   k.objects, k.bytes, k.runs, k.extents,
		   k.g.npages - k.used_pages, k.g.npages,
		   n ? " (after the replay recovery will do)" : "");
	munmap(copy, pv.pool_size);
}
