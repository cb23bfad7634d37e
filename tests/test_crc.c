/* SPDX-License-Identifier: BSD-3-Clause */
/* test_crc.c - CRC32C: known answers, hardware path against the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "crc.h"
#include "internal.h"

static void test_crc32c_known_answers(void **state)
{
	uint8_t zeros[32] = { 0 }, ones[32], inc[32];

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	/* RFC 3720 (iSCSI) B.4 test vectors */
	assert_int_equal(pm_crc32c("123456789", 9), 0xe3069283);
	assert_int_equal(pm_crc32c(zeros, 32), 0x8a9136aa);
	assert_int_equal(pm_crc32c(ones, 32), 0x62a8ab43);
	assert_int_equal(pm_crc32c(inc, 32), 0x46dd794e);
	assert_int_equal(pm_crc32c(NULL, 0), 0);
}

/* Every length and alignment up to 300 bytes: the CPU's instruction path
 * (if any) and the table agree, and chaining equals one call. */
static void test_crc32c_hw_matches_table(void **state)
{
	uint8_t buf[512];

	(void)state;
	print_message("crc32c path: %s\n", pm_arch.crc_name);
	srandom(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++) {
			uint32_t hw = pm_crc_update(~0U, buf + off, len);
			uint32_t sw = pm_crc32c_table(~0U, buf + off, len);
			uint32_t half = pm_crc_update(~0U, buf + off, len / 3);

			half = pm_crc_update(half, buf + off + len / 3,
					     len - len / 3);
			assert_int_equal(hw, sw);
			assert_int_equal(half, sw);
		}
}

/* Long buffers take the folding path where the CPU has one: every length
 * around its 256- and 64-byte steps, and a few large ones, against the
 * table, from every 8-byte alignment and split in two. */
static void test_crc32c_long_buffers(void **state)
{
	static const size_t big[] = { 4096, 65536 + 13, 200000 };
	static uint8_t buf[200008];

	(void)state;
	srandom(11);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 240; len <= 1100; len++) {
			uint32_t seed = (uint32_t)(len * 2654435761U);
			uint32_t sw = pm_crc32c_table(seed, buf + off, len);
			uint32_t half = pm_crc_update(seed, buf + off, len / 2);

			half = pm_crc_update(half, buf + off + len / 2,
					     len - len / 2);
			assert_int_equal(pm_crc_update(seed, buf + off, len),
					 sw);
			assert_int_equal(half, sw);
		}
	for (size_t i = 0; i < PM_ARRAY_SIZE(big); i++)
		assert_int_equal(pm_crc_update(~0U, buf + 3, big[i]),
				 pm_crc32c_table(~0U, buf + 3, big[i]));
}

/* The copying variant: same CRC as the table, same bytes as the source. */
static void test_crc32c_copy_nt(void **state)
{
	static uint8_t src[70000], dst[70000 + 64];
	uint8_t *d = (uint8_t *)PM_ALIGN_UP((uintptr_t)dst, 64);

	(void)state;
	if (!pm_arch.memcpy_nt_crc32c) {
		print_message("no copying crc32c on this CPU\n");
		return;
	}
	srandom(5);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)random();
	for (size_t len = 0; len <= 69952; len += len < 2048 ? 64 : 4032) {
		uint32_t seed = (uint32_t)len * 7919U;

		memset(d, 0, len);
		assert_int_equal(pm_arch.memcpy_nt_crc32c(d, src + 5, len,
							  seed),
				 pm_crc32c_table(seed, src + 5, len));
		assert_memory_equal(d, src + 5, len);
	}
}

/* The cached copying variant (pm_crc_copy, whichever path the CPU has):
 * any length and alignment, nothing stored past the end. */
static void test_crc32c_copy_cached(void **state)
{
	static uint8_t src[9000], dst[9000 + 128];

	(void)state;
	srandom(6);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)random();
	for (size_t len = 0; len <= 8800; len += len < 1100 ? 1 : 577)
		for (size_t off = 0; off < 64; off += 13) {
			uint32_t seed = (uint32_t)(len * 31 + off);

			memset(dst, 0xee, sizeof(dst));
			assert_int_equal(pm_crc_copy(seed, dst + off,
						     src + 64 - off, len),
					 pm_crc32c_table(seed, src + 64 - off,
							 len));
			assert_memory_equal(dst + off, src + 64 - off, len);
			for (size_t i = 0; i < sizeof(dst); i++)
				if (i < off || i >= off + len)
					assert_int_equal(dst[i], 0xee);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_answers),
		cmocka_unit_test(test_crc32c_hw_matches_table),
		cmocka_unit_test(test_crc32c_long_buffers),
		cmocka_unit_test(test_crc32c_copy_nt),
		cmocka_unit_test(test_crc32c_copy_cached),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
