/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h - the "ok"/"not ok" line per check that the programs run in the
 * check-dax guest print, the count of failed ones for their exit status,
 * and the checks they share.
 */
#ifndef PM_TEST_DAX_CHECK_H
#define PM_TEST_DAX_CHECK_H 1

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpm.h"

static int failures;

/* Print the line for check @cond (described by @fmt) and count a failure;
 * return @cond. */
__attribute__((format(printf, 2, 3))) static int check(int cond,
						       const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		failures++;
	return cond;
}

/* The guest's region says its persistence domain is the CPU cache. */
static inline int eadr(void)
{
	const char *d = getenv("PM_DAX_PDOMAIN");

	return d && !strcmp(d, "cpu_cache");
}

/* One pm_persist() of 100 bytes: 2 lines (eADR: none), 1 fence, no
 * msync. */
static inline void check_persist_counts(struct pm_map *m)
{
	unsigned long long lines = eadr() ? 0 : 2;
	char *p = pm_map_addr(m);
	struct pm_stats st;
	int ret;

	pm_stats_reset();
	memset(p + 10, 0x5a, 100);
	ret = pm_persist(m, p + 10, 100);
	pm_stats_get(&st);
	check(ret == 0, "pm_persist on DAX returns 0 (got %d)", ret);
	check(st.flushes == lines && st.fences == 1 && st.msyncs == 0,
	      "persist of 100 bytes: %llu line flushes, 1 fence, 0 msync "
	      "(got %llu, %llu, %llu)",
	      lines, (unsigned long long)st.flushes,
	      (unsigned long long)st.fences, (unsigned long long)st.msyncs);
}

#endif /* PM_TEST_DAX_CHECK_H */
