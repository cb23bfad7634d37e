/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch.h - the CPU primitives each arch folder provides.  pm_arch_init()
 * fills what the CPU has; NULL entries fall back to generic/.  The table is
 * chosen once per process (arch.c) and never changes afterwards, except
 * through pm_arch_reinit() in tests.
 */
#ifndef PM_ARCH_H
#define PM_ARCH_H 1

#include <stddef.h>
#include <stdint.h>

/* The library's copies into a mapping: one place decides (arch.c) from
 * which size each goes non-temporal. */
enum pm_nt_use {
	PM_NT_COPY,  /* pm_memcpy(), pm_memset(): movnt_threshold */
	PM_NT_LOG,   /* a log record's payload */
	PM_NT_STAGE, /* a transaction's payload, staged in its lane */
	PM_NT_USES
};

struct pm_arch_ops {
	/* Write back every cache line touching [addr, addr+len). */
	void (*flush)(const void *addr, size_t len);
	/* Wait until earlier flushes and non-temporal stores are durable. */
	void (*fence)(void);
	/* Copy/fill whole lines with non-temporal stores: @dst is 64-byte
	 * aligned and @len a multiple of 64 (persist.c writes partial lines
	 * at the ends with cached stores and flushes them).  No fence.  NULL
	 * when the CPU has none: copies are then cached stores + flush. */
	void (*memcpy_nt)(void *dst, const void *src, size_t len);
	void (*memset_nt)(void *dst, int c, size_t len);
	/* CRC32C (Castagnoli), raw: no pre/post inversion. */
	uint32_t (*crc32c)(uint32_t crc, const void *buf, size_t len);
	/* memcpy_nt (same contract) that also returns the raw CRC32C of the
	 * bytes continued from @crc, reading the source once.  NULL: crc32c,
	 * then memcpy_nt. */
	uint32_t (*memcpy_nt_crc32c)(void *dst, const void *src, size_t len,
				     uint32_t crc);
	/* The same with cached stores, any @dst and @len; the CRC is of the
	 * bytes stored, the source read once.  NULL: memcpy, then crc32c of
	 * @dst. */
	uint32_t (*memcpy_crc32c)(void *dst, const void *src, size_t len,
				  uint32_t crc);
	const char *flush_name; /* "clwb", "clflushopt", "clflush", "dc cvap" */
	const char *copy_name;	/* "avx512-nt", "avx-nt", "sse2-nt", ... */
	const char *crc_name;	/* "sse4.2", "armv8-crc", "table" */
	int flush_orders;	/* 1 if flush needs no fence (clflush) */
	int flush_none;		/* 1 if this CPU cannot write lines back */
	/* The CPU's crossover: copies of at least this size go NT. */
	size_t movnt_threshold;
	/* The smallest size each use copies NT (arch.c; SIZE_MAX: never). */
	size_t nt_min[PM_NT_USES];
};

/* Implemented once per arch folder. */
void pm_arch_init(struct pm_arch_ops *ops);
/* generic/: portable fallbacks for the NULL entries. */
void pm_generic_init(struct pm_arch_ops *ops);
/* generic/crc.c: table-driven CRC32C, raw (the crc32c entry's fallback). */
uint32_t pm_crc32c_table(uint32_t crc, const void *buf, size_t len);

/* The process-wide table (arch.c). */
extern struct pm_arch_ops pm_arch;

/* Should a copy of @len bytes for @use go non-temporal? */
static inline int pm_nt_pays(size_t len, enum pm_nt_use use)
{
	return len >= pm_arch.nt_min[use];
}
/* Re-read CPU features and PM_* environment overrides (tests); not
 * safe while other threads persist. */
void pm_arch_reinit(void);

#endif /* PM_ARCH_H */
