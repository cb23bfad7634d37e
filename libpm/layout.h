/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * layout.h - the on-media format of a pool file.  Fixed-width little-endian
 * fields, explicit padding, no pointers.  Every value read from a file is
 * untrusted and is checked before use.
 *
 *   0        header copy A  (PM_HDR_SIZE)
 *   4096     header copy B  (PM_HDR_SIZE)
 *   8192     lanes: nlanes x lane_size, each a lane header line + a ring
 *   ...      log area (optional): a log header line + a ring
 *   ...      data area (page aligned) up to pool_size
 */
#ifndef PM_LAYOUT_H
#define PM_LAYOUT_H 1

#include <stddef.h>
#include <stdint.h>

#define PM_POOL_MAGIC "LIBPMPL" /* 8 bytes with the NUL */
#define PM_POOL_VERSION 2
#define PM_HDR_SIZE 4096
#define PM_HDR_A_OFF 0
#define PM_HDR_B_OFF 4096
#define PM_LANES_OFF 8192
#define PM_AREA_ALIGN 4096

/* Lane geometry limits (checked at create and at open). */
#define PM_LANES_MAX 1024
#define PM_LANE_SIZE_MIN 4096
#define PM_LANE_SIZE_MAX (1ULL << 30)
#define PM_LANE_ALIGN 64

/* One header copy; crc (CRC32C over bytes [0, 508)) is the last field. */
struct pm_hdr {
	uint8_t magic[8];
	uint32_t version;
	uint32_t hdr_size; /* sizeof(struct pm_hdr) */
	uint64_t gen;	   /* bumped by every header update */
	uint8_t uuid[16];
	char layout[64];
	uint64_t pool_size;
	uint64_t create_time;
	uint64_t lanes_off;
	uint64_t lane_size;
	uint32_t nlanes;
	uint32_t flags; /* incompatible features: PM_HDR_F_* */
	uint64_t log_off;
	uint64_t log_size;
	uint64_t data_off;
	uint64_t data_size;
	/* unsafe-shutdown record */
	uint64_t usc;	    /* summed dirty-shutdown count at open */
	uint64_t dimm_id;   /* hash of the DIMM ids behind the pool */
	uint32_t dirty;	    /* 1 while open */
	uint32_t sds_state; /* enum pm_shutdown_state when last opened */
	uint8_t reserved[308];
	uint32_t crc;
};
_Static_assert(sizeof(struct pm_hdr) == 512, "pm_hdr size");

/* Incompatible features: a reader that does not know a bit set here
 * refuses the pool (older readers say "unknown incompatible feature
 * flags"). */
#define PM_HDR_F_HEAP (1U << 0) /* the data area is a heap (heap.c) */
/* lane header slots carry a reach (struct pm_lane_slot); every pool made
 * since 1.3 */
#define PM_HDR_F_REACH (1U << 1)
#define PM_HDR_F_KNOWN (PM_HDR_F_HEAP | PM_HDR_F_REACH)
_Static_assert(offsetof(struct pm_hdr, pool_size) == 104, "pm_hdr layout");
_Static_assert(offsetof(struct pm_hdr, usc) == 176, "pm_hdr layout");
_Static_assert(offsetof(struct pm_hdr, crc) == 508, "pm_hdr layout");

/* ---- transaction lanes (lane.c; entries: redo.c) ----
 * A lane is a 64-byte lane header followed by a ring of entries.  An entry
 * starts 64-byte aligned in the ring and is one or more range records
 * (each followed by its payload padded to 8 bytes) and a commit record
 * whose CRC32C (seeded from the pool UUID) covers the whole entry; only a
 * valid commit record makes an entry exist.  The lane header is two
 * checksummed slots written alternately: a slot is rewritten whole only
 * once the other one holds the newest durable state (a fence separates
 * two writes to one lane header), so a crash leaves at least one valid
 * slot, and the valid slot with the higher gen wins.  Both slots invalid
 * is damage: open refuses the pool (PM_E_CORRUPT).
 * Reach (PM_HDR_F_REACH): no entry was ever written at or past the reach
 * of either valid slot, since the writer stays below the reach both slots
 * hold, and raises it (both slots, a fence after each) before it goes
 * further.  So recovery looks for cut-off entries below the reach only:
 * its work follows the ring space a lane has used, not the ring's size. */
struct pm_lane_slot {
	uint64_t retired; /* all entries with seq <= retired are applied;
			   * < PM_SEQ_MAX */
	uint64_t hint;	  /* ring offset at or before the oldest live entry */
	uint64_t gen;	  /* >= 1, bumped by every slot write; higher wins */
	/* PM_HDR_F_REACH: entries lie below reach * 64 (1 <= reach <= ring
	 * bytes / 64); else 0 */
	uint32_t reach;
	uint32_t crc; /* CRC32C of bytes [0, 28), seeded from the UUID */
};
_Static_assert(sizeof(struct pm_lane_slot) == 32, "pm_lane_slot size");
_Static_assert(offsetof(struct pm_lane_slot, crc) == 28, "pm_lane_slot layout");

struct pm_lane_hdr {
	struct pm_lane_slot slot[2];
};
_Static_assert(sizeof(struct pm_lane_hdr) == 64, "pm_lane_hdr size");

#define PM_REC_RANGE 0x52414e47U  /* "RANG" */
#define PM_REC_COMMIT 0x434f4d54U /* "COMT" */
/*
 * Heap pools only (PM_HDR_F_HEAP): records shaped as a range record.
 * SETB and CLRB carry an 8-byte mask (len 8, off 8-byte aligned) that is
 * ORed into, or cleared from, the word at off: two transactions in flight
 * at once may change different bits of one word, which whole-range
 * records, replayed in seq order, could not express.  ZERO has no
 * payload: len bytes at off become zero.
 */
#define PM_REC_SETB 0x53455442U /* "SETB" */
#define PM_REC_CLRB 0x434c5242U /* "CLRB" */
#define PM_REC_ZERO 0x5a45524fU /* "ZERO" */

struct pm_tx_range {
	uint32_t type; /* PM_REC_RANGE */
	uint32_t pad;
	uint64_t off; /* relative to the data area */
	uint64_t len; /* payload bytes that follow, padded to 8 */
};
_Static_assert(sizeof(struct pm_tx_range) == 24, "pm_tx_range size");

/* Commit seqs and retired values lie in [1, PM_SEQ_MAX): one that does
 * not is damage (the entry or slot is invalid), never a seq the counter
 * would wrap from or collide with the volatile PM_SEQ_NONE. */
#define PM_SEQ_MAX (UINT64_C(1) << 62)

struct pm_tx_commit {
	uint32_t type; /* PM_REC_COMMIT */
	uint32_t nranges;
	uint64_t seq; /* global commit sequence number, < PM_SEQ_MAX */
	uint64_t len; /* bytes from the entry's start to the end of this */
	uint32_t pad;
	uint32_t crc; /* over the entry up to this field */
};
_Static_assert(sizeof(struct pm_tx_commit) == 32, "pm_tx_commit size");

/* ---- append log (log.c) ----
 * A 64-byte log header (two slots) followed by a ring of 8-byte aligned
 * records.  A slot is rewritten whole (the other one stays valid until the
 * new one is durable) and the valid slot with the higher gen wins, so the
 * start offset and start_seq always change together.  gen is bumped by
 * every slot write, i.e. at every open and truncation; a record carries
 * the gen it was appended under, and recovery requires gens not to go down
 * along the chain, so a record left over from before an earlier crash can
 * never continue a newer chain even if its seq happens to fit.  A clean
 * close writes both slots alike, gen included (nothing else does), so
 * valid records with a gen below the newest slot's, or any in a log so
 * sealed, were all acknowledged (the gen word of a record that fails its
 * checks may be a crash's stale one).  Both slots hold the same start and
 * start_seq except while a truncation is between its two slot writes
 * (log.c). */
struct pm_log_slot {
	uint64_t start;	    /* ring offset of record start_seq (0: empty) */
	uint64_t start_seq; /* oldest live sequence number */
	uint64_t gen;	    /* >= 1; higher wins */
	uint32_t acked;	    /* low 32 bits of the seq after the last record
			     * acknowledged when the slot was written (0:
			     * not recorded): a chain ending below it lost
			     * acknowledged records, whatever they look like */
	uint32_t crc;	    /* CRC32C of bytes [0, 28), seeded from the UUID */
};
_Static_assert(sizeof(struct pm_log_slot) == 32, "pm_log_slot size");
_Static_assert(offsetof(struct pm_log_slot, acked) == 24, "pm_log_slot layout");
_Static_assert(offsetof(struct pm_log_slot, crc) == 28, "pm_log_slot layout");

struct pm_log_hdr {
	struct pm_log_slot slot[2];
};
_Static_assert(sizeof(struct pm_log_hdr) == 64, "pm_log_hdr size");

/* A record never straddles the ring's end: one that does not fit goes to
 * offset 0, and a 0 is stored in the seq word left behind (if a header
 * fits there), so that a walk over live records never mistakes old bytes
 * for the next record. */
struct pm_log_rec {
	uint64_t seq; /* first: 0 here marks a wrap to offset 0 */
	uint64_t gen; /* slot gen when appended */
	uint32_t len; /* payload bytes (PM_LOG_LEN_MASK), padded to 8;
		       * PM_LOG_REC_END on the last record of an append,
		       * PM_LOG_REC_SKIP on a gap marker */
	uint32_t crc; /* CRC32C of bytes [0, 20) and payload, UUID seed */
};
/* Recovery keeps records only up to the last one that ends an append, so
 * a batch survives a crash whole or not at all. */
#define PM_LOG_REC_END (1U << 31)
/* A marker, not a record (walks do not return it), always empty.  A gap
 * marker, written by a destructive repair after it dropped damaged
 * records, has a seq above the last one dropped (above the previous
 * record's seq + 1).  A close marker, written at a clean close after the
 * last record, has the previous record's seq + 1; recovery ends the chain
 * before it and gives its seq and space to the next append. */
#define PM_LOG_REC_SKIP (1U << 30)
#define PM_LOG_LEN_MASK (PM_LOG_REC_SKIP - 1)
_Static_assert(sizeof(struct pm_log_rec) == 24, "pm_log_rec size");
_Static_assert(offsetof(struct pm_log_rec, crc) == 20, "pm_log_rec layout");

/* ---- heap (heap.c), a data area of a pool with PM_HDR_F_HEAP ----
 *
 *   data_off            the heap header (one page)
 *   hdrs_off            one 8-byte header per page of the heap
 *   pages_off           npages pages of PM_HEAP_PAGE bytes
 *
 * A block is a run of pages; its first page's header says what it is
 * (pm_heap_phdr_*), every other page header is 0, and so is that of a
 * free page.  An extent holds one object from its first byte.  A run
 * holds objects of one size class: a bitmap (one bit per unit, a set bit
 * is an allocated unit) at its start, the units after it (aligned to 16).
 * The class table is part of the format (heap.c: class sizes and run
 * pages are computed from the class number alone).  Every change of a
 * header, a bitmap or the root fields goes through a transaction's redo
 * entry: bitmap bits as SETB/CLRB records, page headers and the root as
 * range records written only by the one transaction that owns the block.
 */
#define PM_HEAP_MAGIC "LIBPMHP" /* 8 bytes with the NUL */
#define PM_HEAP_VERSION 1
#define PM_HEAP_PAGE 4096

struct pm_heap_hdr {
	uint8_t magic[8];
	uint32_t version;
	uint32_t page_size; /* PM_HEAP_PAGE */
	uint64_t npages;
	uint64_t hdrs_off; /* pool offsets, as create computes them */
	uint64_t pages_off;
	uint8_t reserved[20];
	uint32_t crc; /* CRC32C of bytes [0, 60), seeded from the UUID */
	/* changed by transactions */
	uint64_t root_off; /* 0: no root object */
	uint64_t root_size;
	uint8_t pad[48];
};
_Static_assert(sizeof(struct pm_heap_hdr) == 128, "pm_heap_hdr size");
_Static_assert(offsetof(struct pm_heap_hdr, crc) == 60, "pm_heap_hdr layout");
_Static_assert(offsetof(struct pm_heap_hdr, root_off) == 64,
	       "pm_heap_hdr layout");

/* A page header: type in bits 0-7, class in 8-15, PM_HEAP_TAG in 16-31,
 * npages in 32-63. */
#define PM_HEAP_T_EXTENT 0x45U /* 'E' */
#define PM_HEAP_T_RUN 0x52U    /* 'R' */
#define PM_HEAP_TAG 0x4850U    /* "HP" */

#endif /* PM_LAYOUT_H */
