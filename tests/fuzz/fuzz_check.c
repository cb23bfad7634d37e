/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_check - libFuzzer harness for the open and check paths: arbitrary
 * bytes become a pool file, which is checked, repaired, checked again and
 * opened.  Besides the sanitizers' own findings it traps when
 *  - a dry run changes the file,
 *  - a repair reports success but a new check is not clean,
 *  - repair's verdict differs from a fresh check afterwards,
 *  - pm_pool_open() accepts what the check calls "not a pool", or refuses
 *    what the check calls clean.
 * When the last input byte is odd, both header copies get a correct
 * checksum before the run, so that mutations reach the geometry checks and
 * everything behind the header instead of stopping at the checksum.
 * Build and run with `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc.h"
#include "layout.h"
#include "libpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int fd = -1;
static char path[64];

static void quiet(int level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("pmfuzz", 0);
	if (fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pm_set_log_fn(quiet, NULL);
	return 0;
}

static void load(const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
}

static int same(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 20];

	if (size > sizeof(buf))
		return 1;
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)size)
		return 0;
	return !memcmp(buf, data, size);
}

static void reseal(uint8_t *buf, size_t size)
{
	static const size_t offs[2] = { PM_HDR_A_OFF, PM_HDR_B_OFF };

	for (int i = 0; i < 2; i++) {
		struct pm_hdr h;

		if (offs[i] + sizeof(h) > size)
			continue;
		memcpy(&h, buf + offs[i], sizeof(h));
		h.crc = pm_crc32c(&h, offsetof(struct pm_hdr, crc));
		memcpy(buf + offs[i], &h, sizeof(h));
	}
}

static int run(const uint8_t *data, size_t size)
{
	struct pm_pool *pool;
	int before, after, ret;

	load(data, size);
	before = pm_pool_check(path, PM_CHECK_VERBOSE, NULL, NULL);
	if (!same(data, size))
		__builtin_trap(); /* a dry run wrote to the file */
	ret = pm_pool_check(path, PM_CHECK_REPAIR, NULL, NULL);
	after = pm_pool_check(path, 0, NULL, NULL);
	if (ret == 0 && after != 0)
		__builtin_trap(); /* "repaired" but not clean */
	if (ret != after)
		__builtin_trap(); /* repair's verdict and the recheck differ */
	load(data, size);
	ret = pm_pool_open(path, 0, &pool);
	if (ret == 0 && before == PM_E_NOT_POOL)
		__builtin_trap(); /* open took what check refused */
	if (ret != 0 && before == 0)
		__builtin_trap(); /* check passed what open refuses */
	if (ret == 0)
		pm_pool_close(pool);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;

	if (!size || !(data[size - 1] & 1))
		return run(data, size);
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	reseal(buf, size);
	run(buf, size);
	free(buf);
	return 0;
}
