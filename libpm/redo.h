/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redo.h - the redo entries of a lane's ring (layout.h pins the records):
 * writing them (the commit path, inline), walking their range records,
 * checking a whole entry and replaying it (redo.c).
 */
#ifndef PM_REDO_H
#define PM_REDO_H 1

#include <stdint.h>

#include "crc.h"
#include "pool.h"

_Static_assert(offsetof(struct pm_tx_range, off) == 8 &&
		       offsetof(struct pm_tx_range, len) == 16,
	       "pm_tx_range layout");
_Static_assert(offsetof(struct pm_tx_commit, nranges) == 4 &&
		       offsetof(struct pm_tx_commit, seq) == 8 &&
		       offsetof(struct pm_tx_commit, len) == 16 &&
		       offsetof(struct pm_tx_commit, crc) == 28,
	       "pm_tx_commit layout");

static inline uint32_t pm_redo_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return pm_le32(v);
}

static inline uint64_t pm_redo_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return pm_le64(v);
}

static inline void pm_redo_wr64(uint8_t *p, uint64_t v)
{
	v = pm_le64(v);
	memcpy(p, &v, sizeof(v));
}

/* Write a record of @type shaped as a range record at @d (its payload,
 * if the type has one, follows it). */
static inline void pm_redo_put_rec(uint8_t *d, uint32_t type, uint64_t off,
				   uint64_t len)
{
	pm_redo_wr64(d, type); /* type, then pad = 0 */
	pm_redo_wr64(d + offsetof(struct pm_tx_range, off), off);
	pm_redo_wr64(d + offsetof(struct pm_tx_range, len), len);
}

/* Write a range record at @d (its payload follows it). */
static inline void pm_redo_put_range(uint8_t *d, uint64_t off, uint64_t len)
{
	pm_redo_put_rec(d, PM_REC_RANGE, off, len);
}

/* Payload bytes that follow a record of @type covering @len home bytes
 * (not padded). */
static inline uint64_t pm_redo_plen(uint32_t type, uint64_t len)
{
	return type == PM_REC_ZERO ? 0 : len;
}

/* Is @type a record that lives inside an entry (not its commit record)?
 * The heap kinds are only valid in heap pools (pm_redo_parse()). */
static inline int pm_redo_kind_ok(uint32_t type, uint64_t len)
{
	if (type == PM_REC_RANGE || type == PM_REC_ZERO)
		return 1;
	return (type == PM_REC_SETB || type == PM_REC_CLRB) && len == 8;
}

/* Write the commit record at @c of an entry of @len bytes (this record
 * included) whose bytes before @c gave the running CRC32C @crc. */
static inline void pm_redo_put_commit(uint8_t *c, unsigned nranges,
				      uint64_t seq, uint64_t len, uint32_t crc)
{
	pm_redo_wr64(c, PM_REC_COMMIT | (uint64_t)nranges << 32);
	pm_redo_wr64(c + offsetof(struct pm_tx_commit, seq), seq);
	pm_redo_wr64(c + offsetof(struct pm_tx_commit, len), len);
	pm_redo_wr64(c + offsetof(struct pm_tx_commit, pad), 0);
	crc = pm_le32(pm_crc_final(
		pm_crc_update(crc, c, offsetof(struct pm_tx_commit, crc))));
	memcpy(c + offsetof(struct pm_tx_commit, crc), &crc, sizeof(crc));
}

/* A walk over the range records of one entry, inside ring[0, size). */
struct pm_redo_it {
	const uint8_t *ring;
	uint64_t size;
	uint64_t pos; /* the next record; never past size */
};

/* One record of an entry: where its payload goes and where it is. */
struct pm_redo_range {
	uint32_t type;	    /* PM_REC_RANGE, or a heap kind (layout.h) */
	uint64_t off;	    /* data-area offset: unchecked */
	uint64_t len;	    /* home bytes it changes */
	const uint8_t *src; /* payload: pm_redo_plen() bytes */
};

static inline void pm_redo_first(struct pm_redo_it *it, const uint8_t *ring,
				 uint64_t size, uint64_t off)
{
	it->ring = ring;
	it->size = size;
	it->pos = PM_MIN(off, size); /* past the end: no record fits */
}

/* Decode the range record at @rec into @r. */
static inline void pm_redo_decode(const uint8_t *rec, struct pm_redo_range *r)
{
	r->type = pm_redo_rd32(rec);
	r->off = pm_redo_rd64(rec + offsetof(struct pm_tx_range, off));
	r->len = pm_redo_rd64(rec + offsetof(struct pm_tx_range, len));
	r->src = rec + sizeof(struct pm_tx_range);
}

/* The record at it->pos if it is one (a range record or a heap kind)
 * and it and its padded payload lie inside the ring: 1, it->pos past it.
 * Else 0, it->pos on what ended the walk (the commit record, in a valid
 * entry). */
static inline int pm_redo_next(struct pm_redo_it *it, struct pm_redo_range *r)
{
	const uint8_t *rec = it->ring + it->pos;
	uint64_t rest = it->size - it->pos, plen;
	uint32_t type;

	if (rest < sizeof(struct pm_tx_range))
		return 0;
	type = pm_redo_rd32(rec);
	/* the common case first: anything else is rare or ends the walk */
	if (PM_UNLIKELY(type != PM_REC_RANGE) &&
	    !pm_redo_kind_ok(type, pm_redo_rd64(rec + 16)))
		return 0;
	rest -= sizeof(struct pm_tx_range);
	pm_redo_decode(rec, r);
	plen = pm_redo_plen(r->type, r->len);
	/* len first: a huge one would wrap when aligned */
	if (plen > rest || PM_ALIGN_UP(plen, 8) > rest)
		return 0;
	it->pos += sizeof(struct pm_tx_range) + PM_ALIGN_UP(plen, 8);
	return 1;
}

/* Lay the record @r over @dst, a copy of the data-area bytes
 * [@soff, @soff + @len): what the bytes become once it is applied. */
static inline void pm_redo_overlay(const struct pm_redo_range *r, uint8_t *dst,
				   uint64_t soff, uint64_t len)
{
	uint64_t lo = PM_MAX(r->off, soff);
	uint64_t hi = PM_MIN(r->off + r->len, soff + len);

	for (uint64_t i = lo; i < hi && r->type != PM_REC_RANGE; i++) {
		uint8_t *d = dst + (i - soff);

		if (r->type == PM_REC_ZERO)
			*d = 0;
		else if (r->type == PM_REC_SETB)
			*d |= r->src[i - r->off];
		else
			*d &= (uint8_t)~r->src[i - r->off];
	}
	if (lo < hi && r->type == PM_REC_RANGE)
		memcpy(dst + (lo - soff), r->src + (lo - r->off), hi - lo);
}

/* Apply a heap kind record @r at @home (the data area at r->off) with
 * plain stores: SETB/CLRB atomically, so that two transactions that
 * change different bits of one word never lose each other's. */
static inline void pm_redo_apply_kind(const struct pm_redo_range *r,
				      uint8_t *home)
{
	uint64_t m;

	if (r->type == PM_REC_ZERO) {
		memset(home, 0, r->len);
		return;
	}
	memcpy(&m, r->src, sizeof(m)); /* bytes as on media, as the word */
	if (r->type == PM_REC_SETB)
		__atomic_fetch_or((uint64_t *)home, m, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and((uint64_t *)home, ~m, __ATOMIC_RELAXED);
}

/* What a valid entry holds. */
struct pm_redo_entry {
	uint64_t seq;
	uint64_t end; /* ring offset just past the commit record */
	unsigned nranges;
};

/* Record @r may stand in an entry of @pool: a range, or a heap kind in a
 * heap pool with its mask word aligned. */
int pm_redo_rec_ok(const struct pm_pool *pool, const struct pm_redo_range *r);
/* Validate the entry at offset @off of @ring (@size bytes): aligned,
 * records inside the ring, ranges inside @pool's data area, a commit
 * record that counts them and spans the entry, the checksum: 0 or -1. */
int pm_redo_parse(const struct pm_pool *pool, const uint8_t *ring,
		  uint64_t size, uint64_t off, struct pm_redo_entry *e);
/* The seq in the commit record that the range records at @off lead to,
 * or 0 (also without a range record): a cheap filter before the
 * checksum, nothing more. */
uint64_t pm_redo_peek_seq(const uint8_t *ring, uint64_t size, uint64_t off);
/* Copy each range of the entry at @off home and write it back (no
 * fence); every range is checked as it is read.  Returns the first
 * write-back error. */
int pm_redo_replay(const struct pm_pool *pool, const uint8_t *ring,
		   uint64_t size, uint64_t off);

#endif /* PM_REDO_H */
