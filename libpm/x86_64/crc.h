/* SPDX-License-Identifier: BSD-3-Clause */
/* x86_64/crc.h - CRC32C paths of this arch, chosen by init.c. */
#ifndef PM_X86_64_CRC_H
#define PM_X86_64_CRC_H 1

#include <stddef.h>
#include <stdint.h>

/* Raw CRC32C (no inversions) by carry-less folding, 256 bytes a step:
 * needs AVX-512F, VPCLMULQDQ, PCLMULQDQ and SSE4.2. */
uint32_t pm_crc32c_vpclmul(uint32_t crc, const void *buf, size_t len);

#endif /* PM_X86_64_CRC_H */
