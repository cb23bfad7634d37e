/* SPDX-License-Identifier: BSD-3-Clause */
/* pmtool - create, inspect and maintain libpm files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpm.h"

static const char *const gran_names[] = { "byte", "cacheline", "page" };

static int usage(FILE *f)
{
	fprintf(f, "usage: pmtool [--json] info FILE\n");
	return f == stderr ? 2 : 0;
}

static int cmd_info(const char *path, int json)
{
	struct pm_map_info mi;
	struct pm_map *m;
	int ret = pm_map_file(path, 0, 0, &m);

	if (ret) {
		fprintf(stderr, "pmtool: %s: %s\n", path, pm_strerror(ret));
		return 1;
	}
	pm_map_get_info(m, &mi);
	if (json)
		printf("{\"file\":\"%s\",\"size\":%zu,\"granularity\":\"%s\","
		       "\"map_sync\":%s,\"forced\":%s,\"flush\":\"%s\","
		       "\"copy\":\"%s\",\"movnt_threshold\":%zu,"
		       "\"fs\":\"%s\",\"device\":\"%s\"}\n",
		       path, pm_map_size(m), gran_names[mi.granularity],
		       mi.map_sync ? "true" : "false",
		       mi.forced ? "true" : "false", mi.flush_method,
		       mi.copy_method, mi.movnt_threshold, mi.fs_type,
		       mi.device);
	else
		printf("file:            %s\nsize:            %zu\n"
		       "granularity:     %s%s\nMAP_SYNC:        %s\n"
		       "flush:           %s\ncopy:            %s\n"
		       "movnt threshold: %zu\nfile system:     %s\n"
		       "device:          %s\n",
		       path, pm_map_size(m), gran_names[mi.granularity],
		       mi.forced ? " (forced)" : "",
		       mi.map_sync ? "yes" : "no", mi.flush_method,
		       mi.copy_method, mi.movnt_threshold, mi.fs_type,
		       mi.device);
	pm_unmap(m);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h')
			return usage(stdout);
		else
			return usage(stderr);
	}
	if (optind + 2 == argc && !strcmp(argv[optind], "info"))
		return cmd_info(argv[optind + 1], json);
	return usage(stderr);
}
