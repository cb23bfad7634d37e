/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * generic/init.c - portable fallbacks: no cache maintenance (only valid
 * for PAGE granularity, where msync does the work, or eADR), a full fence,
 * no non-temporal stores (persist.c then copies with cached stores and
 * flushes through whatever flush the arch gave), table CRC32C.
 */
#include <stdint.h>

#include "../arch.h"

static void flush_none(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static void fence_full(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void pm_generic_init(struct pm_arch_ops *ops)
{
	if (!ops->flush) {
		ops->flush = flush_none;
		ops->flush_name = "none";
		ops->flush_none = 1;
	}
	if (!ops->fence)
		ops->fence = fence_full;
	if (!ops->memcpy_nt || !ops->memset_nt) {
		ops->memcpy_nt = NULL;
		ops->memcpy_nt_crc32c = NULL;
		ops->memset_nt = NULL;
		ops->copy_name = "temporal";
		ops->movnt_threshold = SIZE_MAX;
	}
	if (!ops->crc32c) {
		ops->crc32c = pm_crc32c_table;
		ops->crc_name = "table";
	}
}
