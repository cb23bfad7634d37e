/* SPDX-License-Identifier: BSD-3-Clause */
/* x86_64/crc.h - CRC32C paths of this arch, chosen by init.c. */
#ifndef PM_X86_64_CRC_H
#define PM_X86_64_CRC_H 1

#include <stddef.h>
#include <stdint.h>

/* Raw CRC32C (no inversions) with the crc32 instruction, 8 bytes at a
 * time: needs SSE4.2.  The folding paths finish their tails with it. */
uint32_t pm_crc32c_sse42(uint32_t crc, const void *buf, size_t len);
/* The same while copying @len bytes to @dst with cached stores. */
uint32_t pm_memcpy_crc32c_sse42(void *dst, const void *src, size_t len,
				uint32_t crc);
/* Raw CRC32C (no inversions) by carry-less folding, 256 bytes a step:
 * needs AVX-512F, VPCLMULQDQ, PCLMULQDQ and SSE4.2. */
uint32_t pm_crc32c_vpclmul(uint32_t crc, const void *buf, size_t len);
/* The same while copying whole lines with non-temporal stores (@dst
 * 64-byte aligned, @len a multiple of 64): one pass over the source, the
 * folding hidden behind the stores. */
uint32_t pm_memcpy_nt_crc32c_avx512(void *dst, const void *src, size_t len,
				    uint32_t crc);
/* The same with cached stores, any @dst and @len. */
uint32_t pm_memcpy_crc32c_avx512(void *dst, const void *src, size_t len,
				 uint32_t crc);

#endif /* PM_X86_64_CRC_H */
