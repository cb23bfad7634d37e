/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * generic/init.c - portable fallbacks: no cache maintenance (only valid
 * for PAGE granularity, where msync does the work, or eADR), a compiler
 * barrier plus full fence, cached copies, table CRC32C.
 */
#include <string.h>

#include "../arch.h"
#include "../crc.h"

static void flush_none(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static void fence_full(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void memcpy_plain(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	pm_arch.flush(dst, len);
}

static void memset_plain(void *dst, int c, size_t len)
{
	memset(dst, c, len);
	pm_arch.flush(dst, len);
}

void pm_generic_init(struct pm_arch_ops *ops)
{
	if (!ops->flush) {
		ops->flush = flush_none;
		ops->flush_name = "none";
	}
	if (!ops->fence)
		ops->fence = fence_full;
	if (!ops->memcpy_nt) {
		ops->memcpy_nt = memcpy_plain;
		ops->memset_nt = memset_plain;
		ops->copy_name = "temporal";
	}
	if (!ops->crc32c) {
		ops->crc32c = pm_crc32c_table;
		ops->crc_name = "table";
	}
	if (!ops->movnt_threshold)
		ops->movnt_threshold = (size_t)-1;
}
