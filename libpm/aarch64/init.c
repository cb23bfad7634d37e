/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aarch64/init.c - dc cvap (clean to the point of persistence) when the
 * CPU has DCPOP, else dc cvac; dsb ish waits for completion (an ordering
 * dmb is not enough for durability); CRC32C instructions when present.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "../arch.h"
#include "../internal.h"

#ifndef HWCAP_DCPOP
#define HWCAP_DCPOP (1 << 16)
#endif
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif

static size_t line_size = 64;

static size_t dcache_line(void)
{
	uint64_t ctr;

	__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
	return (size_t)4 << ((ctr >> 16) & 0xf);
}

static void flush_cvap(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(line_size - 1);
	uintptr_t end = (uintptr_t)addr + len;

	for (; p < end; p += line_size)
		/* dc cvap, spelt so that any ARMv8.0 assembler takes it */
		__asm__ volatile("sys #3, c7, c12, #1, %0"
				 :
				 : "r"(p)
				 : "memory");
}

static void flush_cvac(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(line_size - 1);
	uintptr_t end = (uintptr_t)addr + len;

	for (; p < end; p += line_size)
		__asm__ volatile("dc cvac, %0" : : "r"(p) : "memory");
}

static void fence_dsb(void)
{
	__asm__ volatile("dsb ish" : : : "memory");
}

__attribute__((target("+crc"))) static uint32_t
crc32c_arm(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		__asm__("crc32cx %w0, %w0, %x1" : "+r"(crc) : "r"(v));
	}
	for (; len; len--)
		__asm__("crc32cb %w0, %w0, %w1" : "+r"(crc) : "r"(*p++));
	return crc;
}

void pm_arch_init(struct pm_arch_ops *ops)
{
	unsigned long hw = getauxval(AT_HWCAP);

	line_size = dcache_line();
	/* PM_NO_CVAP: also for emulators that advertise DCPOP but trap it */
	if ((hw & HWCAP_DCPOP) && !pm_env_flag("PM_NO_CVAP")) {
		ops->flush = flush_cvap;
		ops->flush_name = "dc cvap";
	} else {
		ops->flush = flush_cvac;
		ops->flush_name = "dc cvac";
	}
	ops->fence = fence_dsb;
	if (hw & HWCAP_CRC32) {
		ops->crc32c = crc32c_arm;
		ops->crc_name = "armv8-crc";
	}
}
