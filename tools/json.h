/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json.h - the JSON string writer that pmck and pmtool share, so that
 * their --json output escapes text the same way.
 */
#ifndef PM_TOOLS_JSON_H
#define PM_TOOLS_JSON_H 1

#include <stdio.h>

/* @s as a JSON string on stdout; NULL is written as "". */
static inline void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

#endif /* PM_TOOLS_JSON_H */
