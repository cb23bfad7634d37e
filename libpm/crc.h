/* SPDX-License-Identifier: BSD-3-Clause */
/* crc.h - CRC32C for on-media checksums (hardware instruction when present). */
#ifndef PM_CRC_H
#define PM_CRC_H 1

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"

/* Continue a raw CRC32C over @buf.  Start with a seed (e.g. ~0U), finish
 * with pm_crc_final(); chaining calls equals one call over the whole. */
static inline uint32_t pm_crc_update(uint32_t crc, const void *buf, size_t len)
{
	return pm_arch.crc32c(crc, buf, len);
}
/* memcpy() that continues the raw CRC32C over the bytes it stored: one
 * pass over the source where the CPU can. */
static inline uint32_t pm_crc_copy(uint32_t crc, void *dst, const void *src,
				   size_t len)
{
	if (pm_arch.memcpy_crc32c)
		return pm_arch.memcpy_crc32c(dst, src, len, crc);
	memcpy(dst, src, len);
	return pm_crc_update(crc, dst, len);
}
static inline uint32_t pm_crc_final(uint32_t crc)
{
	return ~crc;
}
/* Standard CRC32C of a buffer ("123456789" -> 0xe3069283). */
uint32_t pm_crc32c(const void *buf, size_t len);

#endif /* PM_CRC_H */
