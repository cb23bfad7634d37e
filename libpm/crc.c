/* SPDX-License-Identifier: BSD-3-Clause */
/* crc.c - CRC32C (Castagnoli) of a buffer, by the CPU's fastest way. */
#include "crc.h"

uint32_t pm_crc32c(const void *buf, size_t len)
{
	return pm_crc_final(pm_crc_update(~0U, buf, len));
}
