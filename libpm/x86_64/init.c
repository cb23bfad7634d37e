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
#include "crc.h"

struct cpu {
	int clflush, clflushopt, clwb, sse42, avx, avx512f;
	int pclmul, vpclmul;
	int amd, intel;
	unsigned family, model; /* displayed values */
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
	__cpuid(0, a, b, cx, d);
	c->amd = b == 0x68747541 && d == 0x69746e65 && cx == 0x444d4163;
	c->intel = b == 0x756e6547 && d == 0x49656e69 && cx == 0x6c65746e;
	__cpuid(1, a, b, cx, d);
	c->family = (a >> 8) & 0xf;
	c->model = (a >> 4) & 0xf;
	if (c->family == 0xf)
		c->family += (a >> 20) & 0xff;
	if (c->family == 0xf || c->family == 6)
		c->model |= ((a >> 16) & 0xf) << 4;
	c->clflush = !!(d & (1U << 19));
	c->sse42 = !!(cx & (1U << 20));
	c->pclmul = !!(cx & (1U << 1));
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
	c->vpclmul = !!(cx & (1U << 10));
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

/*
 * Non-temporal bodies: @d is 64-byte aligned and @len a multiple of 64
 * (persist.c writes the partial lines at the ends with cached stores).
 * Sources may be unaligned.  Four lines per iteration where it pays.
 */
static void memcpy_nt_sse2(void *dst, const void *src, size_t len)
{
	__m128i *d = dst;
	const __m128i *s = src;

	for (; len; len -= 64, d += 4, s += 4) {
		__m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1);
		__m128i c = _mm_loadu_si128(s + 2), e = _mm_loadu_si128(s + 3);

		_mm_stream_si128(d, a);
		_mm_stream_si128(d + 1, b);
		_mm_stream_si128(d + 2, c);
		_mm_stream_si128(d + 3, e);
	}
}

static void memset_nt_sse2(void *dst, int c, size_t len)
{
	__m128i v = _mm_set1_epi8((char)c);
	__m128i *d = dst;

	for (; len; len -= 64, d += 4) {
		_mm_stream_si128(d, v);
		_mm_stream_si128(d + 1, v);
		_mm_stream_si128(d + 2, v);
		_mm_stream_si128(d + 3, v);
	}
}

__attribute__((target("avx"))) static void
memcpy_nt_avx(void *dst, const void *src, size_t len)
{
	__m256i *d = dst;
	const __m256i *s = src;

	for (; len >= 256; len -= 256, d += 8, s += 8) {
		__m256i r[8];

		for (int i = 0; i < 8; i++)
			r[i] = _mm256_loadu_si256(s + i);
		for (int i = 0; i < 8; i++)
			_mm256_stream_si256(d + i, r[i]);
	}
	for (; len; len -= 64, d += 2, s += 2) {
		__m256i a = _mm256_loadu_si256(s),
			b = _mm256_loadu_si256(s + 1);

		_mm256_stream_si256(d, a);
		_mm256_stream_si256(d + 1, b);
	}
}

__attribute__((target("avx"))) static void memset_nt_avx(void *dst, int c,
							 size_t len)
{
	__m256i v = _mm256_set1_epi8((char)c);
	__m256i *d = dst;

	for (; len; len -= 64, d += 2) {
		_mm256_stream_si256(d, v);
		_mm256_stream_si256(d + 1, v);
	}
}

__attribute__((target("avx512f"))) static void
memcpy_nt_avx512(void *dst, const void *src, size_t len)
{
	__m512i *d = dst;
	const __m512i *s = src;

	for (; len >= 256; len -= 256, d += 4, s += 4) {
		__m512i a = _mm512_loadu_si512(s),
			b = _mm512_loadu_si512(s + 1);
		__m512i c = _mm512_loadu_si512(s + 2);
		__m512i e = _mm512_loadu_si512(s + 3);

		_mm512_stream_si512(d, a);
		_mm512_stream_si512(d + 1, b);
		_mm512_stream_si512(d + 2, c);
		_mm512_stream_si512(d + 3, e);
	}
	for (; len; len -= 64)
		_mm512_stream_si512(d++, _mm512_loadu_si512(s++));
}

__attribute__((target("avx512f"))) static void
memset_nt_avx512(void *dst, int c, size_t len)
{
	__m512i v = _mm512_set1_epi8((char)c);
	__m512i *d = dst;

	for (; len; len -= 64)
		_mm512_stream_si512(d++, v);
}

__attribute__((target("sse4.2"))) uint32_t
pm_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
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

/* The same while copying with cached stores: each word checksummed from
 * the register it was stored from (a checksum read back from the copy
 * would wait for the stores to forward). */
__attribute__((target("sse4.2"))) uint32_t
pm_memcpy_crc32c_sse42(void *dst, const void *src, size_t len, uint32_t crc)
{
	const uint8_t *s = src;
	uint8_t *d = dst;
	uint64_t c = crc;

	for (; len >= 8; len -= 8, s += 8, d += 8) {
		uint64_t v;

		memcpy(&v, s, 8);
		memcpy(d, &v, 8);
		c = _mm_crc32_u64(c, v);
	}
	for (; len; len--) {
		uint8_t b = *s++;

		*d++ = b;
		c = _mm_crc32_u8((uint32_t)c, b);
	}
	return (uint32_t)c;
}

static void choose_flush(const struct cpu *c, struct pm_arch_ops *ops)
{
	if (c->clflush) {
		ops->flush = flush_clflush;
		ops->flush_name = "clflush";
		ops->flush_orders = 1;
	}
	if (c->clflushopt && !pm_env_flag("PM_NO_CLFLUSHOPT")) {
		ops->flush = flush_clflushopt;
		ops->flush_name = "clflushopt";
		ops->flush_orders = 0;
	}
	if (c->clwb && !pm_env_flag("PM_NO_CLWB")) {
		ops->flush = flush_clwb;
		ops->flush_name = "clwb";
		ops->flush_orders = 0;
	}
	ops->fence = fence_sfence;
}

/* SSE2 is part of x86_64; AVX and AVX-512 only with the OS's consent. */
static void choose_copy(const struct cpu *c, struct pm_arch_ops *ops)
{
	if (pm_env_flag("PM_NO_MOVNT"))
		return;
	ops->memcpy_nt = memcpy_nt_sse2;
	ops->memset_nt = memset_nt_sse2;
	ops->copy_name = "sse2-nt";
	if (!c->avx || pm_env_flag("PM_NO_AVX"))
		return;
	ops->memcpy_nt = memcpy_nt_avx;
	ops->memset_nt = memset_nt_avx;
	ops->copy_name = "avx-nt";
	if (!c->avx512f || pm_env_flag("PM_NO_AVX512"))
		return;
	ops->memcpy_nt = memcpy_nt_avx512;
	ops->memset_nt = memset_nt_avx512;
	ops->copy_name = "avx512-nt";
}

/*
 * Below the threshold a copy is cached stores + write-back, from it on
 * non-temporal stores.  The cached copy has to read its lines first
 * (read for ownership): cheap when the line stayed cached after its last
 * write-back, a miss to memory otherwise.
 *
 * Where clwb keeps the line in a cache (Intel from Ice Lake on), 256 B,
 * libpmem's choice.  Measured on a Xeon (family 6 model 0xcf; a load
 * after clwb: 80 cycles, from L1 48, from memory 190), the time of a
 * non-temporal copy over a cached one at 256 B, 512 B and 1 KiB: 1.30,
 * 1.12, 0.92 rewriting a 64 KiB ring; 1.35, 1.07, 0.90 walking a large
 * area; 0.86, 0.73, 0.58 on lines cached nowhere (random in 256 MiB).
 *
 * Where the write-back evicts the line (clflushopt, clflush, and clwb on
 * every AMD CPU and on Intel's Skylake-SP family, model 0x55), the next
 * cached store to a line written back reads it from memory, however hot
 * it was: whole lines stream from 64 B.  On an AMD EPYC (family 0x1a; a
 * load after clwb 422 cycles, 42 without), pm_memcpy() of 64 B took 94
 * ns streamed against 169 ns cached rewriting one line, 116 against 186
 * ns over 256 KiB, and 119 against libpmem's 191 ns in pmbench.
 *
 * A caller that rewrites lines it keeps cached passes PM_MEM_TEMPORAL.
 * The library's own copies have their floors (arch.c).
 */
static int flush_evicts(const struct cpu *c, const struct pm_arch_ops *ops)
{
	if (ops->flush != flush_clwb) /* clflushopt, clflush */
		return 1;
	return c->amd || (c->intel && c->family == 6 && c->model == 0x55);
}

static size_t movnt_threshold(const struct cpu *c,
			      const struct pm_arch_ops *ops)
{
	if (!ops->memcpy_nt)
		return SIZE_MAX;
	return flush_evicts(c, ops) ? 64 : 256;
}

void pm_arch_init(struct pm_arch_ops *ops)
{
	struct cpu c = { 0 };

	probe(&c);
	choose_flush(&c, ops);
	choose_copy(&c, ops);
	ops->movnt_threshold = movnt_threshold(&c, ops);
	if (c.sse42) {
		ops->crc32c = pm_crc32c_sse42;
		ops->memcpy_crc32c = pm_memcpy_crc32c_sse42;
		ops->crc_name = "sse4.2";
	}
	/* Folding 256 bytes a step: the checksum of a large log record
	 * costs a fraction of its copy. */
	if (c.sse42 && c.pclmul && c.vpclmul && c.avx512f &&
	    !pm_env_flag("PM_NO_AVX512")) {
		ops->crc32c = pm_crc32c_vpclmul;
		ops->memcpy_crc32c = pm_memcpy_crc32c_avx512;
		ops->crc_name = "vpclmulqdq";
		if (ops->memcpy_nt == memcpy_nt_avx512)
			ops->memcpy_nt_crc32c = pm_memcpy_nt_crc32c_avx512;
	}
}
