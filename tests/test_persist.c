/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_persist.c - every flush and copy path this CPU has, checked for
 * data, for exactly which lines were written back (recording wrappers
 * around the real primitives) and for the flush/fence counters; PAGE and
 * BYTE granularity; bad ranges and flags.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch.h"
#include "crc.h"
#include "libpm.h"
#include "map.h"
#include "racer.h"
#include "tmpdir.h"

#define AREA (64 * 1024)
#define MAXLEN 4096

static char shm_path[256];
static char file_path[64];
static struct pm_map *map;
static uint8_t *base;

/* ---- recording wrappers around the real primitives ---- */

static struct pm_arch_ops real;
static unsigned flushed[AREA / 64];  /* write-backs per line */
static unsigned streamed[AREA / 64]; /* non-temporal writes per line */
static unsigned nfences;

static void mark(unsigned *marks, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, b = (uintptr_t)base;

	if (a < b || a - b + len > AREA)
		return; /* another mapping of the file */
	for (size_t l = (a - b) / 64; l * 64 < a - b + len; l++)
		marks[l]++;
}

static void rec_flush(const void *addr, size_t len)
{
	mark(flushed, addr, len);
	real.flush(addr, len);
}

static void rec_fence(void)
{
	nfences++;
	real.fence();
}

static void rec_memcpy_nt(void *dst, const void *src, size_t len)
{
	assert_int_equal((uintptr_t)dst % 64, 0);
	assert_int_equal(len % 64, 0);
	mark(streamed, dst, len);
	real.memcpy_nt(dst, src, len);
}

static void rec_memset_nt(void *dst, int c, size_t len)
{
	assert_int_equal((uintptr_t)dst % 64, 0);
	assert_int_equal(len % 64, 0);
	mark(streamed, dst, len);
	real.memset_nt(dst, c, len);
}

static void clear_marks(void)
{
	memset(flushed, 0, sizeof(flushed));
	memset(streamed, 0, sizeof(streamed));
	nfences = 0;
	pm_stats_reset();
}

/* Re-probe with @env ("NAME=VALUE ..." or "") and wrap the result. */
static void use_path(const char *env)
{
	static const char *const vars[] = {
		"PM_NO_CLWB", "PM_NO_CLFLUSHOPT", "PM_NO_MOVNT",
		"PM_NO_AVX",  "PM_NO_AVX512",	  "PM_MOVNT_THRESHOLD",
	};
	char buf[256], *save, *tok;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		assert_non_null(eq);
		*eq = '\0';
		setenv(tok, eq + 1, 1);
	}
	pm_arch_reinit();
	real = pm_arch;
	pm_arch.flush = rec_flush;
	pm_arch.fence = rec_fence;
	if (real.memcpy_nt) {
		pm_arch.memcpy_nt = rec_memcpy_nt;
		pm_arch.memset_nt = rec_memset_nt;
	}
}

/* ---- the check of one copy or fill ---- */

static uint8_t src[MAXLEN + 64];

static int expect_nt(size_t len, unsigned flags)
{
	if (!real.memcpy_nt || (flags & PM_MEM_TEMPORAL))
		return 0;
	return (flags & PM_MEM_NONTEMPORAL) || len >= real.movnt_threshold;
}

/* Copy (or fill when @fill) @len bytes at @off; check data and lines. */
static void check_one(size_t off, size_t len, unsigned flags, int fill)
{
	uint8_t *d = base + 128 + off;
	size_t first = (128 + off) / 64;
	size_t last = len ? (128 + off + len + 63) / 64 : first;
	uint64_t nflushed = 0, nstreamed = 0, want_fences;
	struct pm_stats st;
	int ret;

	memset(base, 0xee, 128 + off + len + 128);
	clear_marks();
	if (fill)
		ret = pm_memset(map, d, (int)(len % 200 + 1), len, flags);
	else
		ret = pm_memcpy(map, d, src + (off % 7), len, flags);
	assert_int_equal(ret, 0);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(d[i], fill ? len % 200 + 1 : src[off % 7 + i]);
	assert_int_equal(d[-1], 0xee);
	assert_int_equal(d[len], 0xee);
	for (size_t l = 0; l < AREA / 64; l++) {
		int inside = l >= first && l < last;

		/* every written line goes out exactly once, no other line */
		if (flushed[l] + streamed[l] != (unsigned)inside)
			print_message("off %zu len %zu flags %u line %zu: "
				      "flushed %u streamed %u\n",
				      off, len, flags, l, flushed[l],
				      streamed[l]);
		assert_int_equal(flushed[l] + streamed[l], inside);
		nflushed += flushed[l];
		nstreamed += streamed[l];
	}
	if (!expect_nt(len, flags))
		assert_int_equal(nstreamed, 0);
	else if (len >= 64 + 63) /* then a whole line must be inside */
		assert_true(nstreamed > 0);
	want_fences = len && (!real.flush_orders || nstreamed);
	pm_stats_get(&st);
	assert_int_equal(st.flushes, nflushed);
	assert_int_equal(st.bytes_flushed, nflushed * 64);
	assert_int_equal(st.bytes_nt, nstreamed * 64);
	assert_int_equal(st.fences, want_fences);
	assert_int_equal(nfences, want_fences);
}

/* Lengths 0..MAXLEN, each at several offsets from a line boundary. */
static void sweep(unsigned flags)
{
	static const size_t offs[] = { 0, 1, 8, 63 };

	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
		for (size_t len = 0; len <= MAXLEN; len++)
			check_one(offs[o], len, flags, (int)(len & 1));
}

/* ---- which paths this machine has (from /proc/cpuinfo) ---- */

/* Does a /proc/cpuinfo line starting with @key hold the word @word? */
static int cpuinfo_has(const char *key, const char *word)
{
	char line[8192], w[64];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int found = 0;

	if (!f)
		return 0;
	snprintf(w, sizeof(w), " %s ", word);
	while (!found && fgets(line, sizeof(line) - 1, f)) {
		line[strcspn(line, "\n")] = ' ';
		found = !strncmp(line, key, strlen(key)) && strstr(line, w);
	}
	fclose(f);
	return found;
}

static int cpu_has(const char *flag)
{
	return cpuinfo_has("flags", flag) || cpuinfo_has("Features", flag);
}

/* Valgrind's CPU model hides some features /proc/cpuinfo shows. */
static int under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

/* One path per line reads as a table. */
/* clang-format off */
static const struct path {
	const char *arch, *env, *flush, *copy;
	const char *need[2]; /* cpuinfo flags the path needs */
} paths[] = {
	{ "x86_64", "", "clwb", "avx512-nt", { "clwb", "avx512f" } },
	{ "x86_64", "PM_NO_AVX512=1", "clwb", "avx-nt", { "clwb", "avx" } },
	{ "x86_64", "PM_NO_AVX=1", "clwb", "sse2-nt", { "clwb", "sse2" } },
	{ "x86_64", "PM_NO_CLWB=1 PM_NO_AVX512=1", "clflushopt", "avx-nt",
	  { "clflushopt", "avx" } },
	{ "x86_64", "PM_NO_CLWB=1 PM_NO_CLFLUSHOPT=1 PM_NO_AVX=1", "clflush",
	  "sse2-nt", { "clflush", "sse2" } },
	{ "x86_64", "PM_NO_MOVNT=1", "clwb", "temporal", { "clwb", NULL } },
	{ "aarch64", "", "dc cvap", "temporal", { "dcpop", NULL } },
	{ "aarch64", "PM_NO_CVAP=1", "dc cvac", "temporal", { NULL, NULL } },
};
/* clang-format on */

static int path_present(const struct path *p)
{
	struct utsname u;

	if (uname(&u) || strcmp(u.machine, p->arch))
		return 0;
	for (int i = 0; i < 2; i++)
		if (p->need[i] && !cpu_has(p->need[i]))
			return 0;
	return 1;
}

static void test_paths_every_cpu_path(void **state)
{
	unsigned ran = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct path *p = &paths[i];

		if (!path_present(p))
			continue;
		use_path(p->env);
		if (!under_valgrind()) {
			assert_string_equal(real.flush_name, p->flush);
			assert_string_equal(real.copy_name, p->copy);
		} else if (strcmp(real.flush_name, p->flush) ||
			   strcmp(real.copy_name, p->copy)) {
			continue;
		}
		print_message("path %s + %s\n", p->flush, p->copy);
		sweep(0);
		sweep(PM_MEM_NONTEMPORAL);
		sweep(PM_MEM_TEMPORAL);
		ran++;
	}
	if (!under_valgrind())
		assert_true(ran > 0);
}

/* Whatever the CPU, the default path runs and obeys the same rules. */
static void test_paths_default(void **state)
{
	(void)state;
	use_path("");
	print_message("default path %s + %s\n", real.flush_name,
		      real.copy_name);
	sweep(0);
}

static void test_memcpy_threshold(void **state)
{
	size_t cpu;

	(void)state;
	use_path("");
	cpu = real.movnt_threshold;
	use_path("PM_MOVNT_THRESHOLD=1000");
	if (!real.memcpy_nt)
		skip();
	assert_int_equal(real.movnt_threshold, 1000);
	check_one(0, 999, 0, 0);
	assert_int_equal(pm_tls_stats.bytes_nt, 0);
	check_one(0, 1000, 0, 0);
	assert_int_equal(pm_tls_stats.bytes_nt, 960);
	check_one(0, 1000, PM_MEM_TEMPORAL, 1);
	assert_int_equal(pm_tls_stats.bytes_nt, 0);
	use_path("PM_MOVNT_THRESHOLD=12abc");
	assert_int_equal(real.movnt_threshold, cpu);
	use_path("PM_MOVNT_THRESHOLD=-5");
	assert_int_equal(real.movnt_threshold, cpu);
	use_path("PM_MOVNT_THRESHOLD=0x40");
	assert_int_equal(real.movnt_threshold, 64);
	/* whole lines stream where the write-back evicts them */
	if (cpu_has("clflushopt")) {
		use_path("PM_NO_CLWB=1");
		assert_int_equal(real.movnt_threshold, 64);
	}
	if (cpu_has("clwb") && cpuinfo_has("vendor_id", "AuthenticAMD"))
		assert_int_equal(cpu, 64);
}

/* ---- persist, flush, drain ---- */

static void test_persist_one_fence(void **state)
{
	struct pm_stats st;
	uint64_t lines = 0;

	(void)state;
	use_path("");
	assert_int_equal(pm_map_granularity(map), PM_GRANULARITY_CACHELINE);
	clear_marks();
	for (int i = 0; i < 1000; i++) {
		base[i * 40] = (uint8_t)i;
		assert_int_equal(pm_persist(map, base + i * 40, 100), 0);
		lines += (i * 40 + 100 + 63) / 64 - i * 40 / 64;
	}
	pm_stats_get(&st);
	assert_int_equal(st.fences, real.flush_orders ? 0 : 1000);
	assert_int_equal(nfences, st.fences);
	assert_int_equal(st.flushes, lines);
	assert_int_equal(lines, 2500); /* 2 or 3 lines each, half and half */
	assert_int_equal(pm_persist(map, base, 0), 0);
	pm_stats_get(&st);
	assert_int_equal(st.flushes, lines);
}

static void test_flush_drain_nodrain(void **state)
{
	struct pm_stats st;

	(void)state;
	use_path("");
	clear_marks();
	pm_flush(map, base, 64);
	pm_flush(map, base + 4096, 65);
	assert_int_equal(pm_memcpy(map, base + 8192, src, 4096, PM_MEM_NODRAIN),
			 0);
	pm_stats_get(&st);
	assert_int_equal(st.fences, 0);
	assert_int_equal(pm_drain(map), 0);
	pm_stats_get(&st);
	assert_int_equal(st.fences, 1);
	assert_int_equal(flushed[0] + flushed[64] + flushed[65], 3);

	clear_marks();
	assert_int_equal(pm_memset(map, base, 1, 4096, PM_MEM_NOFLUSH), 0);
	pm_stats_get(&st);
	assert_int_equal(st.fences + st.flushes + st.bytes_nt, 0);
}

static void *other_thread(void *arg)
{
	(void)arg;
	pm_persist(map, base, 4096);
	return NULL;
}

static void test_stats_per_thread(void **state)
{
	struct pm_stats st;
	pthread_t t;

	(void)state;
	use_path("");
	pm_stats_reset();
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pm_stats_get(&st);
	assert_int_equal(st.flushes + st.fences, 0);
	pm_stats_get(NULL);
}

static void test_persist_bad_range(void **state)
{
	struct pm_stats st;

	(void)state;
	use_path("");
	pm_stats_reset();
	assert_int_equal(pm_persist(map, base + AREA - 8, 16), -EINVAL);
	assert_int_equal(pm_persist(map, base - 1, 1), -EINVAL);
	assert_int_equal(pm_persist(map, base + 8, SIZE_MAX), -EINVAL);
	assert_int_equal(pm_persist(map, (void *)UINTPTR_MAX, 2), -EINVAL);
	assert_int_equal(pm_persist(map, NULL, 1), -EINVAL);
	assert_int_equal(pm_persist(NULL, base, 1), -EINVAL);
	assert_int_equal(pm_drain(NULL), -EINVAL);
	pm_flush(map, base + AREA, 1);
	pm_flush(NULL, base, 1);
	assert_int_equal(pm_memcpy(map, base + AREA - 1, src, 2, 0), -EINVAL);
	assert_int_equal(pm_memset(map, base - 64, 0, 64, 0), -EINVAL);
	pm_stats_get(&st);
	assert_int_equal(st.flushes + st.fences + st.bytes_nt, 0);
}

static void test_memcpy_bad_flags(void **state)
{
	(void)state;
	assert_int_equal(pm_memcpy(map, base, src, 8, 1U << 9), -EINVAL);
	assert_int_equal(pm_memcpy(map, base, src, 8,
				   PM_MEM_TEMPORAL | PM_MEM_NONTEMPORAL),
			 -EINVAL);
	assert_int_equal(pm_memset(map, base, 0, 8, ~0U), -EINVAL);
	assert_int_equal(pm_memcpy(map, base, NULL, 8, 0), -EINVAL);
	assert_int_equal(pm_memcpy(map, base, NULL, 0, 0), 0);
}

/* ---- other granularities ---- */

static void test_persist_byte(void **state)
{
	struct pm_map *m;
	struct pm_stats st;
	uint8_t *p;

	(void)state;
	use_path("");
	setenv("PM_FORCE_GRANULARITY", "byte", 1);
	assert_int_equal(pm_map_file(shm_path, 0, 0, &m), 0);
	unsetenv("PM_FORCE_GRANULARITY");
	p = pm_map_addr(m);
	pm_stats_reset();
	assert_int_equal(pm_persist(m, p, 4096), 0);
	assert_int_equal(pm_memcpy(m, p + 1, src, 4000, 0), 0);
	assert_memory_equal(p + 1, src, 4000);
	pm_stats_get(&st);
	assert_int_equal(st.fences, 2);
	assert_int_equal(st.flushes, 0);
	assert_int_equal(st.bytes_nt, real.memcpy_nt ? (4000 - 63) & ~63 : 0);
	pm_unmap(m);
}

static void test_persist_page_plain_file(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct pm_map_info mi;
	struct pm_map *m;
	struct pm_stats st;
	uint8_t *p;

	(void)state;
	assert_int_equal(pm_map_file(file_path, 4 * pg, PM_MAP_CREATE, &m), 0);
	assert_int_equal(pm_map_granularity(m), PM_GRANULARITY_PAGE);
	assert_int_equal(pm_map_get_info(m, &mi), 0);
	assert_string_equal(mi.flush_method, "msync");
	p = pm_map_addr(m);
	pm_stats_reset();
	assert_int_equal(pm_persist(m, p + pg - 1, 2), 0);
	assert_int_equal(pm_memset(m, p + 5, 7, 3 * pg, 0), 0);
	pm_stats_get(&st);
	assert_int_equal(st.msyncs, 2);
	assert_int_equal(st.fences, 2);
	assert_int_equal(st.flushes, 2 + 4);
	assert_int_equal(st.bytes_flushed, 6 * pg);
	/* NOFLUSH and NODRAIN: msync is both, so NOFLUSH skips it */
	assert_int_equal(pm_memcpy(m, p, src, 64, PM_MEM_NOFLUSH), 0);
	pm_stats_get(&st);
	assert_int_equal(st.msyncs, 2);
	pm_unmap(m);
}

/* An msync failure is returned (once), never fatal. */
static void test_persist_page_msync_error(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct pm_map *m;
	uint8_t *p;

	(void)state;
	assert_int_equal(pm_map_file(file_path, 4 * pg, PM_MAP_CREATE, &m), 0);
	p = pm_map_addr(m);
	/* take a page away behind the library's back */
	assert_int_equal(munmap(p + pg, pg), 0);
	assert_int_equal(pm_persist(m, p + pg, 8), -ENOMEM);
	assert_int_equal(pm_persist(m, p, 8), 0);
	pm_flush(m, p + pg + 1, 1);
	pm_flush(m, p, 1);
	assert_int_equal(pm_drain(m), -ENOMEM);
	assert_int_equal(pm_drain(m), 0);
	pm_unmap(m);
}

struct flush_arg {
	struct pm_map *m;
	uint8_t *bad; /* a page whose msync fails */
	int drained;  /* what the thread's own drain returned */
};

static void *flush_bad_then_drain(void *arg)
{
	struct flush_arg *a = arg;

	pm_flush(a->m, a->bad, 8);
	a->drained = pm_drain(a->m);
	return NULL;
}

static void *flush_bad(void *arg)
{
	struct flush_arg *a = arg;

	pm_flush(a->m, a->bad, 8);
	return NULL;
}

/* A write-back error is the flushing thread's: another thread's drain
 * neither returns it nor takes it away. */
static void test_drain_page_error_per_thread(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct flush_arg a = { 0 };
	pthread_t t;
	uint8_t *p;

	(void)state;
	assert_int_equal(pm_map_file(file_path, 4 * pg, PM_MAP_CREATE, &a.m),
			 0);
	p = pm_map_addr(a.m);
	a.bad = p + pg;
	assert_int_equal(munmap(a.bad, pg), 0);
	/* the thread that flushed sees it at its drain */
	assert_int_equal(pthread_create(&t, NULL, flush_bad_then_drain, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.drained, -ENOMEM);
	assert_int_equal(pm_drain(a.m), 0);
	/* a thread that flushed and never drained: nobody else gets it */
	assert_int_equal(pthread_create(&t, NULL, flush_bad, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(pm_persist(a.m, p, 8), 0);
	assert_int_equal(pm_drain(a.m), 0);
	/* the flushing thread's next drain reports it, whatever it drains */
	pm_flush(a.m, a.bad, 8);
	assert_int_equal(pm_persist(a.m, p + 2 * pg, 8), -ENOMEM);
	assert_int_equal(pm_drain(a.m), 0);
	pm_unmap(a.m);
}

static void quiet(int level, const char *msg, void *arg)
{
	(void)level, (void)msg, (void)arg;
}

/* The test file mapped with granularity @gran forced. */
static struct pm_map *map_gran(const char *gran)
{
	struct pm_map *m;

	setenv("PM_FORCE_GRANULARITY", gran, 1);
	assert_int_equal(pm_map_file(shm_path, 0, 0, &m), 0);
	unsetenv("PM_FORCE_GRANULARITY");
	return m;
}

/* pm_map_copy_crc: the bytes of pm_map_copy and the CRC32C of them, on
 * every granularity, for each copy flag and both sides of the NT paths. */
static void test_memcpy_crc_all_tables(void **state)
{
	static const char *const gran[] = { "byte", "cacheline", "page" };
	static const unsigned flags[] = { 0, PM_MEM_NONTEMPORAL,
					  PM_MEM_TEMPORAL, PM_MEM_NOFLUSH };
	static const size_t lens[] = { 0,    5,	       64,    255,	 256,
				       1000, 4096 + 7, 20000, AREA - 128 };
	static uint8_t from[AREA];

	(void)state;
	for (size_t i = 0; i < sizeof(from); i++)
		from[i] = (uint8_t)(i * 131 + 1);
	use_path("");
	for (size_t g = 0; g < PM_ARRAY_SIZE(gran); g++) {
		struct pm_map *m = map_gran(gran[g]);
		uint8_t *p = pm_map_addr(m);

		for (size_t f = 0; f < PM_ARRAY_SIZE(flags); f++)
			for (size_t i = 0; i < PM_ARRAY_SIZE(lens); i++) {
				uint32_t want = pm_crc32c_table(7, from + 1,
								lens[i]);
				uint32_t crc = 7;

				memset(p, 0, lens[i] + 64);
				assert_int_equal(pm_map_copy_crc(m, p + 24,
								 from + 1,
								 lens[i],
								 flags[f],
								 &crc),
						 0);
				assert_int_equal(crc, want);
				assert_int_equal(pm_map_drain(m), 0);
				assert_memory_equal(p + 24, from + 1, lens[i]);
			}
		pm_unmap(m);
	}
}

#define RACE 20000

/* A source another thread changes during pm_map_copy_crc (the caller's
 * race): whatever bytes land, the CRC returned is theirs, on every
 * granularity and copy path, so a record is never left with a checksum
 * that does not match what was stored. */
static void test_memcpy_crc_racing_source(void **state)
{
	static const char *const gran[] = { "byte", "cacheline", "page" };
	static const unsigned flags[] = { 0, PM_MEM_NONTEMPORAL,
					  PM_MEM_TEMPORAL };
	static uint64_t from[RACE / 8 + 1];
	struct racer r;

	(void)state;
	use_path("");
	if (racer_start(&r, from, sizeof(from)))
		skip();
	for (size_t g = 0; g < PM_ARRAY_SIZE(gran); g++) {
		struct pm_map *m = map_gran(gran[g]);
		uint8_t *p = pm_map_addr(m);

		for (size_t f = 0; f < PM_ARRAY_SIZE(flags); f++) {
			struct timespec t0;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (int i = 0, raced = 0; racer_more(raced, &t0);
			     i++) {
				size_t len = RACE - (size_t)(i % 200) * 37;
				uint8_t *d = p + 24 + i % 200;
				uint64_t p0 = racer_passes(&r);
				uint32_t crc = 9;

				assert_int_equal(pm_map_copy_crc(m, d, from,
								 len, flags[f],
								 &crc),
						 0);
				raced += racer_passes(&r) != p0;
				assert_int_equal(crc,
						 pm_crc32c_table(9, d, len));
			}
		}
		pm_unmap(m);
	}
	racer_stop(&r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(shm_path, sizeof(shm_path), "%s/test_persist.%d",
		 test_tmpdir("/dev/shm"), getpid());
	snprintf(file_path, sizeof(file_path), "test_persist.%d.file",
		 getpid());
	pm_set_log_fn(quiet, NULL);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	assert_int_equal(pm_map_file(shm_path, AREA, PM_MAP_CREATE, &map), 0);
	unsetenv("PM_FORCE_GRANULARITY");
	base = pm_map_addr(map);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pm_unmap(map);
	unlink(shm_path);
	unlink(file_path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_every_cpu_path),
		cmocka_unit_test(test_paths_default),
		cmocka_unit_test(test_memcpy_threshold),
		cmocka_unit_test(test_persist_one_fence),
		cmocka_unit_test(test_flush_drain_nodrain),
		cmocka_unit_test(test_stats_per_thread),
		cmocka_unit_test(test_persist_bad_range),
		cmocka_unit_test(test_memcpy_bad_flags),
		cmocka_unit_test(test_persist_byte),
		cmocka_unit_test(test_persist_page_plain_file),
		cmocka_unit_test(test_persist_page_msync_error),
		cmocka_unit_test(test_drain_page_error_per_thread),
		cmocka_unit_test(test_memcpy_crc_all_tables),
		cmocka_unit_test(test_memcpy_crc_racing_source),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
