/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * x86_64/init.c - CPU probe and primitives: clwb > clflushopt > clflush,
 * sfence, non-temporal copies, CRC32C with SSE4.2.  Durability: a line is
 * durable once written back and a later sfence completed (clflush is
 * ordered by itself); non-temporal stores need the sfence too.
 */
#include <cpuid.h>
#include <immintrin.h>
#include <stdlib.h>

#include "../arch.h"
#include "../internal.h"

struct cpu {
	int clflush, clflushopt, clwb, sse42, avx, avx512f;
};

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static void probe(struct cpu *c)
{
	unsigned a, b, cx, d, max = __get_cpuid_max(0, NULL);
	uint64_t xcr0 = 0;
	int osxsave;

	if (max < 1)
		return;
	__cpuid(1, a, b, cx, d);
	c->clflush = !!(d & (1U << 19));
	c->sse42 = !!(cx & (1U << 20));
	osxsave = !!(cx & (1U << 27));
	if (osxsave)
		xcr0 = xgetbv0();
	/* The OS must save XMM+YMM state (XCR0 bits 1, 2) for AVX... */
	c->avx = (cx & (1U << 28)) && (xcr0 & 0x6) == 0x6;
	if (max < 7)
		return;
	__cpuid_count(7, 0, a, b, cx, d);
	c->clflushopt = !!(b & (1U << 23));
	c->clwb = !!(b & (1U << 24));
	/* ...and opmask + ZMM state (bits 5..7) for AVX-512. */
	c->avx512f = c->avx && (b & (1U << 16)) && (xcr0 & 0xe6) == 0xe6;
}

static void flush_clwb(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t end = (uintptr_t)addr + len;

	for (; p < end; p += 64)
		__asm__ volatile(".byte 0x66; xsaveopt %0" : "+m"(*(char *)p));
}

static void flush_clflushopt(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t end = (uintptr_t)addr + len;

	for (; p < end; p += 64)
		__asm__ volatile(".byte 0x66; clflush %0" : "+m"(*(char *)p));
}

static void flush_clflush(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t end = (uintptr_t)addr + len;

	for (; p < end; p += 64)
		_mm_clflush((const void *)p);
}

static void fence_sfence(void)
{
	_mm_sfence();
}

/* Cached copy of a short unaligned piece, flushed by the caller's flush. */
static void copy_edges(void *dst, const void *src, size_t len,
		       void (*flush)(const void *, size_t))
{
	memcpy(dst, src, len);
	flush(dst, len);
}

static void (*nt_edge_flush)(const void *, size_t) = flush_clflush;

static void memcpy_nt_sse2(void *dst, const void *src, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t head = (64 - ((uintptr_t)d & 63)) & 63;

	if (head > len)
		head = len;
	if (head) {
		copy_edges(d, s, head, nt_edge_flush);
		d += head, s += head, len -= head;
	}
	for (; len >= 64; d += 64, s += 64, len -= 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + 48));

		_mm_stream_si128((__m128i *)d, a);
		_mm_stream_si128((__m128i *)(d + 16), b);
		_mm_stream_si128((__m128i *)(d + 32), c);
		_mm_stream_si128((__m128i *)(d + 48), e);
	}
	if (len)
		copy_edges(d, s, len, nt_edge_flush);
}

static void memset_nt_sse2(void *dst, int c, size_t len)
{
	uint8_t *d = dst;
	size_t head = (64 - ((uintptr_t)d & 63)) & 63;
	__m128i v = _mm_set1_epi8((char)c);

	if (head > len)
		head = len;
	if (head) {
		memset(d, c, head);
		nt_edge_flush(d, head);
		d += head, len -= head;
	}
	for (; len >= 64; d += 64, len -= 64) {
		_mm_stream_si128((__m128i *)d, v);
		_mm_stream_si128((__m128i *)(d + 16), v);
		_mm_stream_si128((__m128i *)(d + 32), v);
		_mm_stream_si128((__m128i *)(d + 48), v);
	}
	if (len) {
		memset(d, c, len);
		nt_edge_flush(d, len);
	}
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = crc;

	for (; len && ((uintptr_t)p & 7); len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	for (; len; len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}

void pm_arch_init(struct pm_arch_ops *ops)
{
	struct cpu c = { 0 };
	const char *thr;

	probe(&c);
	if (c.clflush) {
		ops->flush = flush_clflush;
		ops->flush_name = "clflush";
		ops->flush_orders = 1;
	}
	if (c.clflushopt && !pm_env_flag("PM_NO_CLFLUSHOPT")) {
		ops->flush = flush_clflushopt;
		ops->flush_name = "clflushopt";
		ops->flush_orders = 0;
	}
	if (c.clwb && !pm_env_flag("PM_NO_CLWB")) {
		ops->flush = flush_clwb;
		ops->flush_name = "clwb";
		ops->flush_orders = 0;
	}
	if (ops->flush)
		nt_edge_flush = ops->flush;
	ops->fence = fence_sfence;
	if (!pm_env_flag("PM_NO_MOVNT")) {
		ops->memcpy_nt = memcpy_nt_sse2;
		ops->memset_nt = memset_nt_sse2;
		ops->copy_name = "sse2-nt";
	}
	ops->movnt_threshold = 256;
	thr = pm_getenv("PM_MOVNT_THRESHOLD");
	if (thr && *thr)
		ops->movnt_threshold = strtoull(thr, NULL, 0);
	if (c.sse42) {
		ops->crc32c = crc32c_sse42;
		ops->crc_name = "sse4.2";
	}
}
