/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mem.c - pm_persist() against pmem_persist() and pm_memcpy() against
 * pmem_memcpy_persist(), 64 B to 16 MiB, with the machine's limit: a
 * non-temporal memset of the same size plus one fence.  Destinations
 * rotate through an area larger than the caches, one line-aligned slot
 * after another, so each operation meets lines not written recently.
 * libpm, PMDK and the limit take turns within each repetition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmem.h>

#include "arch.h"
#include "internal.h"
#include "libpm.h"
#include "pmbench.h"

enum which { LIBPM, PMDK, LIMIT };
enum op { PERSIST, COPY };

struct area {
	struct pm_map *map;
	char *pm, *pmdk; /* both files, mapped */
	size_t size;
	const char *src;
};

static void one(enum which w, enum op op, const struct area *a, char *d,
		size_t len)
{
	if (w == LIMIT) {
		pm_arch.memset_nt(d, 0x5a, PM_ALIGN_UP(len, 64));
		pm_arch.fence();
	} else if (op == COPY) {
		if (w == LIBPM)
			pm_memcpy(a->map, d, a->src, len, 0);
		else
			pmem_memcpy_persist(d, a->src, len);
	} else {
		/* One store per line, then make the range durable. */
		for (size_t off = 0; off < len; off += 64)
			*(volatile char *)(d + off) = (char)off;
		if (w == LIBPM)
			pm_persist(a->map, d, len);
		else
			pmem_persist(d, len);
	}
}

/* Seconds per operation over at least @secs; *fences gets libpm's. */
static double run(enum which w, enum op op, const struct area *a, size_t len,
		  double secs, double *fences)
{
	size_t slot = PM_ALIGN_UP(len, 64), nslots = a->size / slot;
	char *base = w == PMDK ? a->pmdk : a->pm;
	struct pm_stats st;
	double t0 = pmb_now(), t;
	size_t i = 0;

	pm_stats_reset();
	do {
		for (int k = 0; k < 16; k++, i++)
			one(w, op, a, base + i % nslots * slot, len);
		t = pmb_now();
	} while (t - t0 < secs);
	pm_stats_get(&st);
	if (fences)
		*fences = (double)st.fences / (double)i;
	return (t - t0) / (double)i;
}

static void measure(const struct pmb_opts *o, enum op op, const struct area *a,
		    size_t len)
{
	double pm[o->reps], pmdk[o->reps], lim[o->reps], f = 0;
	struct pmb_result *r;
	char name[48];

	/* Warm-up: every page of both files faulted in, clocks up. */
	run(LIBPM, op, a, len, o->secs / 2, NULL);
	run(PMDK, op, a, len, o->secs / 2, NULL);
	for (int i = 0; i < o->reps; i++) {
		pm[i] = run(LIBPM, op, a, len, o->secs, &f);
		pmdk[i] = run(PMDK, op, a, len, o->secs, NULL);
		lim[i] = op == COPY ? run(LIMIT, op, a, len, o->secs, NULL) : 0;
	}
	if (len >= (1 << 20))
		snprintf(name, sizeof(name), "%zu MiB", len >> 20);
	else if (len >= 1024)
		snprintf(name, sizeof(name), "%zu KiB", len >> 10);
	else
		snprintf(name, sizeof(name), "%zu B", len);
	r = pmb_add(op == COPY ? "memcpy" : "persist", name, len);
	if (!r)
		return;
	pmb_times(r, pm, pmdk, o->reps);
	r->t_limit = op == COPY ? pmb_median(lim, o->reps) : 0;
	r->f_pm = f;
	r->f_pmdk = 1; /* one drain per call: libpmem's design */
	r->unit = len >= 4096 ? "GB/s" : "op/s";
	r->note = op == COPY ? "pm_memcpy vs pmem_memcpy_persist" :
			       "store per line + pm_persist vs pmem_persist";
}

int pmb_mem(const struct pmb_opts *o)
{
	static const size_t sizes[] = {
		64, 256, 4096, 65536, 1 << 20, 16 << 20
	};
	char lpath[256], ppath[256];
	struct area a = { .size = (size_t)(o->quick ? 64 : 128) << 20 };
	size_t mlen;
	int is_pmem, ret;
	char *src;

	if (!pm_arch.memset_nt) {
		fprintf(stderr, "pmbench: no non-temporal stores here\n");
		return -1;
	}
	pmb_path(lpath, sizeof(lpath), o, "mem-libpm");
	pmb_path(ppath, sizeof(ppath), o, "mem-pmdk");
	ret = pm_map_file(lpath, a.size, PM_MAP_CREATE | PM_MAP_EXCL, &a.map);
	a.pmdk = pmem_map_file(ppath, a.size, PMEM_FILE_CREATE | PMEM_FILE_EXCL,
			       0600, &mlen, &is_pmem);
	src = aligned_alloc(64, 16 << 20);
	unlink(lpath);
	unlink(ppath);
	if (ret || !a.pmdk || !src || !is_pmem) {
		fprintf(stderr,
			"pmbench: memory setup failed (%s, is_pmem %d)\n",
			pm_strerror(ret), is_pmem);
		ret = -1;
		goto out;
	}
	memset(src, 0xa5, 16 << 20);
	a.src = src;
	a.pm = pm_map_addr(a.map);
	for (size_t i = 0; i < PM_ARRAY_SIZE(sizes); i++) {
		pmb_progress("persist %zu B", sizes[i]);
		measure(o, PERSIST, &a, sizes[i]);
	}
	for (size_t i = 0; i < PM_ARRAY_SIZE(sizes); i++) {
		pmb_progress("memcpy_persist %zu B", sizes[i]);
		measure(o, COPY, &a, sizes[i]);
	}
out:
	pm_unmap(a.map);
	if (a.pmdk)
		pmem_unmap(a.pmdk, mlen);
	free(src);
	return ret;
}
