/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg.h - what pmck and pmtool share for their error lines and --version,
 * so that both print "TOOL: FILE: cause" and "TOOL (libpm) VERSION".
 */
#ifndef PM_TOOLS_MSG_H
#define PM_TOOLS_MSG_H 1

#include <stdio.h>
#include <string.h>

#include "libpm.h"

/* "TOOL: FILE: error: detail": the text of @err, then the library's last
 * message (@detail, without the "FILE: " it may start with) unless that
 * is empty or already says it. */
static inline void msg_file_err(const char *tool, const char *file, int err,
				const char *detail)
{
	const char *what = pm_strerror(err);
	size_t n = strlen(file);

	if (!strncmp(detail, file, n) && !strncmp(detail + n, ": ", 2))
		detail += n + 2;
	if (!*detail || strstr(detail, what))
		fprintf(stderr, "%s: %s: %s\n", tool, file,
			*detail ? detail : what);
	else
		fprintf(stderr, "%s: %s: %s: %s\n", tool, file, what, detail);
}

static inline int msg_version(const char *tool)
{
	printf("%s (libpm) %s\n", tool, PACKAGE_VERSION);
	return 0;
}

#endif /* PM_TOOLS_MSG_H */
