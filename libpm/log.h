/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.h - the append log on a raw area of a mapping.  open.c reaches it
 * through the pm_log_format/boot/shutdown hooks below; tests and tools
 * can run it on any mapping.
 */
#ifndef PM_LOG_H
#define PM_LOG_H 1

#include <stdint.h>

#include "layout.h"
#include "map.h"

/* Smallest log area: the header plus room for a few small records. */
#define PM_LOG_MIN_SIZE 256

/* Write an empty log (slot 0: start 0, start_seq 1, gen 1) over
 * [area, area + size); durable on return. */
int pm_log_area_format(struct pm_map *map, void *area, uint64_t size,
		       uint32_t seed);
/* Recover the log in [area, area + size) (scan from the start hint, drop
 * a torn tail) and start a new generation.  Writes to the area. */
int pm_log_area_open(struct pm_map *map, void *area, uint64_t size,
		     uint32_t seed, struct pm_log **logp);
/* pm_log_area_recover() flag: drop acknowledged records that damage made
 * unreachable (destructive repair) instead of refusing the log. */
#define PM_LOG_DISCARD (1U << 0)
int pm_log_area_recover(struct pm_map *map, void *area, uint64_t size,
			uint32_t seed, unsigned flags, struct pm_log **logp);
/* Record a clean close (a slot write): every record is acknowledged. */
int pm_log_area_seal(struct pm_log *log);
/* Free the state; writes nothing (after it, a reopen treats the log as
 * after a crash unless pm_log_area_seal() ran). */
void pm_log_area_close(struct pm_log *log);

/* Where a pool keeps its log, as open.c describes it to the hooks. */
struct pm_log_place {
	struct pm_map *map;
	uint8_t *base;	  /* the mapping's start */
	uint64_t off;	  /* the log area is [base + off, + size) */
	uint64_t size;	  /* 0: the pool has no log */
	uint32_t seed;	  /* CRC32C seed of the pool */
	unsigned flags;	  /* PM_LOG_DISCARD */
	const char *path; /* the pool file, for messages */
};

/* At create: format the log area, if any. */
int pm_log_format(const struct pm_log_place *p);
/* At open: recover the log area into *@logp (NULL without a log area). */
int pm_log_boot(const struct pm_log_place *p, struct pm_log **logp);
/* At close: record a clean close unless the handle was inherited over
 * fork(), then free @log (may be NULL). */
void pm_log_shutdown(struct pm_log *log, const char *path);

/* What recovery would find in a log area (for pmck). */
struct pm_log_scan {
	int slot_ok[2];	    /* each header slot checks out */
	int slot;	    /* the slot recovery uses; -1: none valid */
	uint64_t gen;	    /* its gen */
	uint64_t cap;	    /* ring bytes */
	uint64_t first_seq; /* live records are [first_seq, next_seq) */
	uint64_t next_seq;
	uint64_t head, tail; /* ring offsets of the chain */
	uint64_t used;	     /* ring bytes the chain holds */
	uint64_t torn_off;   /* ring offset of a record claiming next_seq
			      * that fails its checks, or UINT64_MAX */
	uint64_t past_n;     /* valid records past the chain's end */
	uint64_t past_off;   /* ring offset of the first, or UINT64_MAX */
	int acked;	     /* what lies past was acknowledged: damage,
			      * open refuses; else a torn tail it drops */
	uint64_t drop_first, drop_last; /* seqs lost past the chain: from
					 * next_seq to the highest found */
};
/* Scan [area, area + size) as recovery does, without writing to it. */
int pm_log_area_scan(const void *area, uint64_t size, uint32_t seed,
		     struct pm_log_scan *s);

#endif /* PM_LOG_H */
