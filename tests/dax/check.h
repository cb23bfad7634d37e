/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h - the "ok"/"not ok" line per check that the programs run in the
 * check-dax guest print, and the count of failed ones for their exit
 * status.
 */
#ifndef PM_TEST_DAX_CHECK_H
#define PM_TEST_DAX_CHECK_H 1

#include <stdarg.h>
#include <stdio.h>

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

#endif /* PM_TEST_DAX_CHECK_H */
