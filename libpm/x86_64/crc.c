/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * x86_64/crc.c - CRC32C by carry-less multiplication.  Checksums guard
 * on-media records (no persistence here): large log records are
 * checksummed at several times memory bandwidth, so the checksum does not
 * limit an append.
 *
 * A 16-byte block B followed by n more bits of message contributes
 * B(x) * x^n; with B = H * x^64 + L (H the first 8 bytes), B * x^128s is
 * congruent mod P to clmul(H, x^(64+128s-1) mod P) ^ clmul(L, x^(128s-1)
 * mod P) (the -1: a reflected carry-less product comes out shifted by one).
 * Four 64-byte accumulators are folded forward 256 bytes per step, then
 * into one block, whose CRC the crc32 instruction finishes with the tail.
 * The constants are bit-reflected into the high half of each qword.
 * The copying variants store each 64-byte load (non-temporally, or
 * cached) before folding it, so the source is read once and the checksum
 * covers exactly the bytes stored.
 */
#include <immintrin.h>
#include <string.h>

#include "crc.h"

#define TARGET "avx512f,vpclmulqdq,pclmul,sse4.2"

/* x^(64+128s-1) mod P for the low qword, x^(128s-1) mod P for the high
 * one, for a fold of s blocks (_mm_set_epi64x takes the high one first) */
#define K(lo, hi) ((long long)(hi##ULL << 32)), ((long long)(lo##ULL << 32))
#define K_S16 K(0xe9a5d8be, 0x1426a815)
#define K_S4 K(0x1c19243b, 0x75bba45b)
#define K_S3 K(0xa46ef4aa, 0x6051243f)
#define K_S2 K(0x33ccbbbc, 0xa2158b34)
#define K_S1 K(0x3743f7bd, 0x3171d430)

__attribute__((target(TARGET))) static inline __m512i
fold512(__m512i a, __m512i k, __m512i next)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a, k, 0x00),
					 _mm512_clmulepi64_epi128(a, k, 0x11),
					 next, 0x96);
}

__attribute__((target(TARGET))) static inline __m128i
fold128(__m128i a, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00),
					   _mm_clmulepi64_si128(a, k, 0x11)),
			     next);
}

/* Fold the four blocks of @a (offsets 0, 16, 32, 48) into one at 48. */
__attribute__((target(TARGET))) static __m128i lanes_to_one(__m512i a)
{
	__m128i x = _mm512_extracti32x4_epi32(a, 3);

	x = fold128(_mm512_extracti32x4_epi32(a, 2), _mm_set_epi64x(K_S1), x);
	x = fold128(_mm512_extracti32x4_epi32(a, 1), _mm_set_epi64x(K_S2), x);
	return fold128(_mm512_extracti32x4_epi32(a, 0), _mm_set_epi64x(K_S3),
		       x);
}

/* Load 64 bytes, and store them at @d when it is not NULL: with a
 * non-temporal store (@d 64-byte aligned) when @nt, else a cached one. */
__attribute__((target(TARGET))) static inline __m512i ld(const uint8_t *p,
							 uint8_t *d, int nt)
{
	__m512i v = _mm512_loadu_si512(p);

	if (d && nt)
		_mm512_stream_si512((void *)d, v);
	else if (d)
		_mm512_storeu_si512((void *)d, v);
	return v;
}

/* The raw CRC32C of the 64 bytes in @v continued from @c, taken from the
 * register (not read back from where @v was just stored). */
__attribute__((target(TARGET))) static inline uint64_t crc_line(uint64_t c,
								__m512i v)
{
	const __m128i q[4] = { _mm512_extracti32x4_epi32(v, 0),
			       _mm512_extracti32x4_epi32(v, 1),
			       _mm512_extracti32x4_epi32(v, 2),
			       _mm512_extracti32x4_epi32(v, 3) };

	for (int j = 0; j < 4; j++) {
		c = _mm_crc32_u64(c, (uint64_t)_mm_cvtsi128_si64(q[j]));
		c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(q[j], 1));
	}
	return c;
}

/* CRC of @len >= 256 bytes at @p, its whole lines copied to @d if not
 * NULL (see ld()); returns the CRC and leaves the last len % 16 bytes
 * (< 16) to the caller via *pp, and *lenp. */
__attribute__((target(TARGET))) static inline __attribute__((always_inline))
uint32_t
fold_all(uint32_t crc, const uint8_t **pp, uint8_t *d, size_t *lenp, int nt)
{
	const uint8_t *p = *pp;
	size_t len = *lenp;
	__m512i a0, a1, a2, a3, k;
	__m128i x;
	uint64_t w[2];

	/* The running CRC enters as an xor into the first 4 bytes. */
	a0 = _mm512_xor_si512(ld(p, d, nt),
			      _mm512_castsi128_si512(
				      _mm_cvtsi32_si128((int)crc)));
	a1 = ld(p + 64, d ? d + 64 : NULL, nt);
	a2 = ld(p + 128, d ? d + 128 : NULL, nt);
	a3 = ld(p + 192, d ? d + 192 : NULL, nt);
	k = _mm512_broadcast_i32x4(_mm_set_epi64x(K_S16));
	for (p += 256, d = d ? d + 256 : NULL, len -= 256; len >= 256;
	     p += 256, d = d ? d + 256 : NULL, len -= 256) {
		a0 = fold512(a0, k, ld(p, d, nt));
		a1 = fold512(a1, k, ld(p + 64, d ? d + 64 : NULL, nt));
		a2 = fold512(a2, k, ld(p + 128, d ? d + 128 : NULL, nt));
		a3 = fold512(a3, k, ld(p + 192, d ? d + 192 : NULL, nt));
	}
	k = _mm512_broadcast_i32x4(_mm_set_epi64x(K_S4));
	a1 = fold512(a0, k, a1);
	a2 = fold512(a1, k, a2);
	a3 = fold512(a2, k, a3);
	for (; len >= 64; p += 64, d = d ? d + 64 : NULL, len -= 64)
		a3 = fold512(a3, k, ld(p, d, nt));
	x = lanes_to_one(a3);
	for (; len >= 16; p += 16, len -= 16)
		x = fold128(x, _mm_set_epi64x(K_S1),
			    _mm_loadu_si128((const void *)p));
	_mm_storeu_si128((__m128i *)w, x);
	*pp = p;
	*lenp = len;
	return (uint32_t)_mm_crc32_u64(_mm_crc32_u64(0, w[0]), w[1]);
}

__attribute__((target(TARGET))) uint32_t
pm_memcpy_nt_crc32c_avx512(void *dst, const void *src, size_t len, uint32_t crc)
{
	const uint8_t *p = src;
	uint8_t *d = dst;

	if (len < 256) {
		uint64_t c = crc;

		for (size_t i = 0; i < len; i += 64)
			c = crc_line(c, ld(p + i, d + i, 1));
		return (uint32_t)c;
	}
	crc = fold_all(crc, &p, d, &len, 1);
	return pm_crc32c_sse42(crc, p, len); /* len == 0: whole lines */
}

__attribute__((target(TARGET))) uint32_t
pm_memcpy_crc32c_avx512(void *dst, const void *src, size_t len, uint32_t crc)
{
	const uint8_t *p = src;
	uint8_t *d = dst;
	size_t body = len & ~(size_t)63, rest = len - body;

	if (body < 256)
		return pm_memcpy_crc32c_sse42(d, p, len, crc);
	crc = fold_all(crc, &p, d, &body, 0); /* whole lines: body is 0 */
	return pm_memcpy_crc32c_sse42(d + (len - rest), p, rest, crc);
}

__attribute__((target(TARGET))) uint32_t
pm_crc32c_vpclmul(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (len < 256)
		return pm_crc32c_sse42(crc, p, len);
	crc = fold_all(crc, &p, NULL, &len, 0);
	return pm_crc32c_sse42(crc, p, len);
}
