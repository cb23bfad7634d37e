/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redo.c - checking and replaying the redo entries of a lane's ring.
 *
 * Invariant: nothing read from a ring is used unchecked.  An entry exists
 * only if its range records lie inside the ring and the data area and its
 * commit record counts them, spans them and carries their checksum; a
 * replay checks each range again as it reads it, so a ring rewritten after
 * the check cannot send a copy outside the data area.  The heap's record
 * kinds (layout.h) exist only in heap pools; their masks go to aligned
 * words.
 */
#include "redo.h"

/* The commit record of the valid entry [off, c + its size), whose walk
 * found @nr ranges and ended at @c. */
static int commit_ok(const struct pm_pool *pool, const uint8_t *ring,
		     uint64_t size, uint64_t off, uint64_t c, unsigned nr,
		     struct pm_redo_entry *e)
{
	const uint8_t *p = ring + c;
	uint32_t crc;

	if (!pm_range_ok(c, sizeof(struct pm_tx_commit), size) ||
	    pm_redo_rd32(p) != PM_REC_COMMIT)
		return -1;
	if (nr == 0 ||
	    pm_redo_rd32(p + offsetof(struct pm_tx_commit, nranges)) != nr ||
	    pm_redo_rd64(p + offsetof(struct pm_tx_commit, len)) !=
		    c + sizeof(struct pm_tx_commit) - off)
		return -1;
	crc = pm_crc_update(pool->seed, ring + off,
			    c + offsetof(struct pm_tx_commit, crc) - off);
	if (pm_crc_final(crc) !=
	    pm_redo_rd32(p + offsetof(struct pm_tx_commit, crc)))
		return -1;
	e->seq = pm_redo_rd64(p + offsetof(struct pm_tx_commit, seq));
	if (!e->seq || e->seq >= PM_SEQ_MAX)
		return -1;
	e->end = c + sizeof(struct pm_tx_commit);
	e->nranges = nr;
	return 0;
}

int pm_redo_rec_ok(const struct pm_pool *pool, const struct pm_redo_range *r)
{
	if (r->type == PM_REC_RANGE)
		return 1;
	if (!(pool->features & PM_HDR_F_HEAP))
		return 0;
	return r->type == PM_REC_ZERO || r->off % 8 == 0;
}

int pm_redo_parse(const struct pm_pool *pool, const uint8_t *ring,
		  uint64_t size, uint64_t off, struct pm_redo_entry *e)
{
	struct pm_redo_it it;
	struct pm_redo_range r;
	unsigned nr = 0;

	if (off % PM_CACHELINE)
		return -1;
	for (pm_redo_first(&it, ring, size, off); pm_redo_next(&it, &r); nr++)
		if (!pm_range_ok(r.off, r.len, pool->data_size) ||
		    !pm_redo_rec_ok(pool, &r))
			return -1;
	return commit_ok(pool, ring, size, off, it.pos, nr, e);
}

uint64_t pm_redo_peek_seq(const uint8_t *ring, uint64_t size, uint64_t off)
{
	struct pm_redo_it it;
	struct pm_redo_range r;
	unsigned nr = 0;

	for (pm_redo_first(&it, ring, size, off); pm_redo_next(&it, &r); nr++)
		;
	if (!nr || !pm_range_ok(it.pos, sizeof(struct pm_tx_commit), size) ||
	    pm_redo_rd32(ring + it.pos) != PM_REC_COMMIT)
		return 0;
	return pm_redo_rd64(ring + it.pos + offsetof(struct pm_tx_commit, seq));
}

int pm_redo_replay(const struct pm_pool *pool, const uint8_t *ring,
		   uint64_t size, uint64_t off)
{
	uint8_t *data = pool->base + pool->data_off;
	struct pm_redo_it it;
	struct pm_redo_range r;
	int err = 0;

	for (pm_redo_first(&it, ring, size, off); pm_redo_next(&it, &r);) {
		if (!pm_range_ok(r.off, r.len, pool->data_size) ||
		    !pm_redo_rec_ok(pool, &r))
			return err;
		if (r.type != PM_REC_RANGE) {
			pm_redo_apply_kind(&r, data + r.off);
			err = pm_wb_first(err,
					  pm_map_flush(pool->map, data + r.off,
						       r.len));
			continue;
		}
		err = pm_wb_first(err,
				  pm_map_copy(pool->map, data + r.off, r.src,
					      r.len, PM_MEM_TEMPORAL));
	}
	return err;
}
