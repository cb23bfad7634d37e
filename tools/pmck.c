/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmck - check and repair libpm pool files, with fsck(8) exit codes:
 * 0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational
 * error, 16 usage.  Read-only unless --repair.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "libpm.h"
#include "msg.h"

#define EXIT_CLEAN 0
#define EXIT_CORRECTED 1
#define EXIT_UNCORRECTED 4
#define EXIT_OPERATIONAL 8
#define EXIT_USAGE 16

#define PROGRESS_MIN (256ULL << 20) /* no bar for smaller pools */

struct pmck {
	unsigned flags;
	int json, quiet, verbose, tty;
	const char *file;
	unsigned nrepairable, nfatal, nrepaired;
	unsigned ndropped; /* fatal findings gone: a destructive repair */
	int first_json;	   /* no finding printed yet in this file's array */
	int bar_shown;
	int bar_pct;
	char lasterr[512];
};

static const char *const sev_names[] = { "ok", "error", "fatal" };
static const char *const sev_json[] = { "info", "repairable", "fatal" };

static int usage(FILE *f)
{
	fprintf(f,
		"usage: pmck [-n|--dry-run] [-y|--repair [--discard-damaged]] [--json] [-v] [-q]\n"
		"            FILE...\n"
		"       pmck -h|--help | -V|--version\n"
		"  -n, --dry-run  report only, change nothing (default)\n"
		"  -y, --repair   repair what can be repaired\n"
		"      --discard-damaged  with --repair: also repair what "
		"costs committed\n"
		"                 data, dropping it (says what was dropped)\n"
		"      --json     one JSON object per file on stdout\n"
		"  -v, --verbose  also report the structures that are fine\n"
		"  -q, --quiet    print nothing; the exit code tells\n"
		"exit: 0 clean, 1 corrected, 4 left uncorrected, 8 error, 16 usage\n");
	return f == stderr ? EXIT_USAGE : EXIT_CLEAN;
}

static void bar_clear(struct pmck *p)
{
	if (p->bar_shown) {
		fprintf(stderr, "\r%*s\r", 70, "");
		p->bar_shown = 0;
	}
}

static void progress(uint64_t done, uint64_t total, void *arg)
{
	struct pmck *p = arg;
	int pct, fill;

	if (total < PROGRESS_MIN || !total)
		return;
	pct = (int)(done * 100 / total);
	if (p->bar_shown && pct == p->bar_pct)
		return;
	p->bar_pct = pct;
	p->bar_shown = 1;
	fill = pct * 40 / 100;
	fprintf(stderr, "\rpmck: checking [%.*s%*s] %3d%%", fill,
		"########################################", 40 - fill, "", pct);
	fflush(stderr);
}

static void print_json_finding(struct pmck *p, const struct pm_check_finding *f)
{
	fputs(p->first_json ? "" : ",", stdout);
	p->first_json = 0;
	printf("{\"severity\":\"%s\",\"area\":", sev_json[f->severity]);
	json_str(pm_area_name(f->area));
	fputs(",\"structure\":", stdout);
	json_str(f->structure);
	printf(",\"offset\":%" PRIu64 ",\"length\":%" PRIu64 ",\"message\":",
	       f->offset, f->length);
	json_str(f->message);
	fputs(",\"repair\":", stdout);
	json_str(f->repair);
	printf(",\"repaired\":%s}", f->repaired ? "true" : "false");
}

/* Repaired by dropping data: --discard-damaged's repair texts say
 * "discard N ..." (what was dropped, counted). */
static int dropped(const struct pmck *p, const struct pm_check_finding *f)
{
	return f->repaired && (p->flags & PM_CHECK_DISCARD_DAMAGED) &&
	       !strncmp(f->repair, "discard", 7);
}

static void print_text_finding(struct pmck *p, const struct pm_check_finding *f)
{
	if (f->severity == PM_CHECK_INFO) {
		printf("%s: ok: %s: %s\n", p->file, f->structure, f->message);
		return;
	}
	printf("%s: %s: %s at offset %" PRIu64 " (%" PRIu64 " bytes): %s; "
	       "repair: %s%s\n",
	       p->file, sev_names[f->severity], f->structure, f->offset,
	       f->length, f->message, f->repair,
	       dropped(p, f) ? " [data dropped by a destructive repair]" :
	       f->repaired   ? " [repaired]" :
	       (p->flags & PM_CHECK_REPAIR) ? " [not repaired]" :
					      "");
}

static int finding(const struct pm_check_finding *f, void *arg)
{
	struct pmck *p = arg;

	if (f->severity == PM_CHECK_FATAL)
		p->nfatal++;
	else if (f->severity == PM_CHECK_REPAIRABLE)
		p->nrepairable++;
	if (f->repaired)
		p->nrepaired++;
	if (dropped(p, f))
		p->ndropped++;
	if (p->quiet)
		return 0;
	bar_clear(p);
	if (p->json)
		print_json_finding(p, f);
	else
		print_text_finding(p, f);
	return 0;
}

static void log_fn(int level, const char *msg, void *arg)
{
	struct pmck *p = arg;

	if (level == PM_LOG_ERR)
		snprintf(p->lasterr, sizeof(p->lasterr), "%s", msg);
	else if (p->verbose && !p->json)
		fprintf(stderr, "pmck: libpm: %s\n", msg);
}

static int exit_code(const struct pmck *p, int ret)
{
	if (ret == PM_E_CORRUPT)
		return EXIT_UNCORRECTED;
	if (ret)
		return EXIT_OPERATIONAL;
	return p->nrepaired ? EXIT_CORRECTED : EXIT_CLEAN;
}

static const char *const result_names[] = {
	[EXIT_CLEAN] = "clean",
	[EXIT_CORRECTED] = "corrected",
	[EXIT_UNCORRECTED] = "uncorrected",
	[EXIT_OPERATIONAL] = "error",
};

static void summary_text(const struct pmck *p, int ret, int code)
{
	unsigned left = p->nfatal + p->nrepairable - p->nrepaired;

	if (code == EXIT_OPERATIONAL) {
		msg_file_err("pmck", p->file, ret, p->lasterr);
		return;
	}
	if (code == EXIT_CLEAN && !p->nrepaired)
		printf("%s: clean\n", p->file);
	else if (code == EXIT_CORRECTED && p->ndropped)
		printf("%s: %u error%s corrected, %u of them by dropping data\n",
		       p->file, p->nrepaired, p->nrepaired == 1 ? "" : "s",
		       p->ndropped);
	else if (code == EXIT_CORRECTED)
		printf("%s: %u error%s corrected\n", p->file, p->nrepaired,
		       p->nrepaired == 1 ? "" : "s");
	else
		printf("%s: %u error%s left uncorrected%s\n", p->file, left,
		       left == 1 ? "" : "s",
		       (p->flags & PM_CHECK_REPAIR) || !p->nrepairable ?
			       "" :
			       " (run with --repair)");
}

static void summary_json(const struct pmck *p, int ret, int code)
{
	printf("],\"result\":\"%s\",\"exit\":%d", result_names[code], code);
	if (code == EXIT_OPERATIONAL) {
		fputs(",\"error\":", stdout);
		json_str(pm_strerror(ret));
		fputs(",\"detail\":", stdout);
		json_str(p->lasterr);
	}
	printf(",\"repaired\":%u,\"remaining\":%u}\n", p->nrepaired,
	       p->nfatal + p->nrepairable - p->nrepaired);
}

static int check_one(struct pmck *p, const char *file)
{
	struct pm_check_opts o = {
		.sz = sizeof(o),
		.flags = p->flags,
		.cb = finding,
		.cb_arg = p,
		.progress = p->tty ? progress : NULL,
		.progress_arg = p,
	};
	int ret, code;

	p->file = file;
	p->nrepairable = p->nfatal = p->nrepaired = p->ndropped = 0;
	p->lasterr[0] = '\0';
	p->first_json = 1;
	p->bar_pct = -1;
	if (p->json && !p->quiet) {
		fputs("{\"file\":", stdout);
		json_str(file);
		fputs(",\"findings\":[", stdout);
	}
	ret = pm_pool_check_opts(file, &o);
	bar_clear(p);
	code = exit_code(p, ret);
	if (!p->quiet) {
		if (p->json)
			summary_json(p, ret, code);
		else
			summary_text(p, ret, code);
	}
	fflush(stdout);
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "repair", no_argument, NULL, 'y' },
		{ "discard-damaged", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pmck p = { 0 };
	int dry = 0, c, code = 0;

	while ((c = getopt_long(argc, argv, "nyvqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case 'y':
			p.flags |= PM_CHECK_REPAIR;
			break;
		case 'D':
			p.flags |= PM_CHECK_DISCARD_DAMAGED;
			break;
		case 'j':
			p.json = 1;
			break;
		case 'v':
			p.verbose = 1;
			break;
		case 'q':
			p.quiet = 1;
			break;
		case 'h':
			return usage(stdout);
		case 'V':
			return msg_version("pmck");
		default:
			return usage(stderr);
		}
	}
	if (optind >= argc || (dry && (p.flags & PM_CHECK_REPAIR)) ||
	    ((p.flags & PM_CHECK_DISCARD_DAMAGED) &&
	     !(p.flags & PM_CHECK_REPAIR)) ||
	    (p.quiet && p.verbose))
		return usage(stderr);
	if (p.verbose)
		p.flags |= PM_CHECK_VERBOSE;
	p.tty = !p.json && !p.quiet && isatty(STDERR_FILENO);
	pm_set_log_fn(log_fn, &p);
	for (int i = optind; i < argc; i++)
		code |= check_one(&p, argv[i]);
	return code;
}
