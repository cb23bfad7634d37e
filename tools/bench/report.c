/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * report.c - the results as a table, as JSON and as a PNG drawn by
 * gnuplot, and the targets libpm is measured against.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "internal.h"
#include "libpm.h"
#include "pmbench.h"

static const char pmdk_fence_note[] =
	"PMDK fences are known counts (breakpoints on every fence), not "
	"measured in this run";

static const struct pmb_result *find(const char *group, const char *name)
{
	for (int i = 0; i < pmb_nresults; i++)
		if (!strcmp(pmb_results[i].group, group) &&
		    !strncmp(pmb_results[i].name, name, strlen(name)))
			return &pmb_results[i];
	return NULL;
}

/* libpm against PMDK: above 1, libpm is better. */
static double ratio(const struct pmb_result *r)
{
	return !strcmp(r->unit, "%") ? r->t_pm / r->t_pmdk :
				       r->t_pmdk / r->t_pm;
}

/* The rate (or time) of @t seconds per operation, in @r's unit. */
static double value(const struct pmb_result *r, double t)
{
	if (!strcmp(r->unit, "%"))
		return t * 100;
	if (!strcmp(r->unit, "GB/s"))
		return (double)r->size / t / 1e9;
	if (!strcmp(r->unit, "ms"))
		return t * 1e3;
	return 1 / t;
}

static const char *fmt(char *buf, const struct pmb_result *r, double t)
{
	double v = value(r, t);

	if (t <= 0)
		snprintf(buf, 32, "-");
	else if (!strcmp(r->unit, "op/s") && v >= 1e6)
		snprintf(buf, 32, "%.2f Mop/s", v / 1e6);
	else if (!strcmp(r->unit, "op/s"))
		snprintf(buf, 32, "%.0f Kop/s", v / 1e3);
	else if (!strcmp(r->unit, "ms"))
		snprintf(buf, 32, "%.2f ms", v);
	else if (!strcmp(r->unit, "%"))
		snprintf(buf, 32, "%.1f %%", v);
	else
		snprintf(buf, 32, "%.2f GB/s", v);
	return buf;
}

/* The lowest and highest ratio of one repetition (rows of times only). */
static const char *span(char *buf, const struct pmb_result *r)
{
	if (r->q_min <= 0)
		snprintf(buf, 24, "-");
	else
		snprintf(buf, 24, "%.2f-%.2f", r->q_min, r->q_max);
	return buf;
}

static const char *fences(char *buf, double f)
{
	if (f < 0)
		snprintf(buf, 16, "-");
	else
		snprintf(buf, 16, "%.2f", f);
	return buf;
}

/* ---- targets ------------------------------------------------------------- */

#define TARGETS_MAX 20

struct target {
	const char *what;
	double goal, value;
	double limit; /* the ratio the hardware's floor allows; 0: none */
	int found;
	int fill; /* goal and value are fractions, not ratios */
};

static int targets(struct target *t)
{
	static const struct {
		const char *what, *group, *name;
		double goal;
	} simple[] = {
		{ "tx one 64 B write", "tx", "one 64 B write, random", 4 },
		{ "tx 8 random 64 B writes", "tx", "8 random", 8 },
		{ "tx one 4 KiB write", "tx", "one 4 KiB", 3 },
		{ "log append 64 B", "log", "64 B", 2.5 },
		{ "log append 4 KiB", "log", "4 KiB", 1.3 },
		{ "log append 1 MiB", "log", "1 MiB", 1 },
		{ "memcpy_persist 64 B", "memcpy", "64 B", 1.5 },
		{ "heap tx alloc 64 B + write", "heap", "tx alloc 64 B", 6 },
		{ "heap tx free 64 B", "heap", "tx free", 6 },
		{ "heap tx alloc 4 KiB", "heap", "tx alloc 4 KiB", 3 },
		{ "heap alloc + free, no user tx", "heap", "alloc + free", 5 },
		{ "kv put 100 B", "kv", "put", 4 },
	};
	const struct pmb_result *r, *r2;
	int n = 0;

	/* the simple ones, then memcpy's minimum, threads and churn */
	_Static_assert(sizeof(simple) / sizeof(simple[0]) + 3 <= TARGETS_MAX,
		       "targets fit t[]");
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		r = find(simple[i].group, simple[i].name);
		t[n] = (struct target){ .what = simple[i].what,
					.goal = simple[i].goal,
					.found = !!r };
		if (r)
			t[n].value = ratio(r);
		if (r && r->t_limit > 0)
			t[n].limit = r->t_pmdk / r->t_limit;
		n++;
	}
	t[n] = (struct target){ .what = "memcpy_persist, every size (min)",
				.goal = 1.0 };
	for (int i = 0; i < pmb_nresults; i++) {
		r = &pmb_results[i];
		if (strcmp(r->group, "memcpy"))
			continue;
		if (!t[n].found || ratio(r) < t[n].value)
			t[n].value = ratio(r);
		t[n].found = 1;
	}
	n++;
	r = find("tx", "one 64 B write, random");
	r2 = find("tx", "one 64 B write, 2 threads");
	t[n] = (struct target){ .what = "libpm 2 threads / 1 thread",
				.goal = 1.8,
				.found = r && r2 };
	if (r && r2) {
		t[n].value = r->t_pm / r2->t_pm;
		t[n].limit = r->t_limit > 0 && r2->t_limit > 0 ?
				     r->t_limit / r2->t_limit :
				     0;
	}
	n++;
	/* the heap's own goal, not a ratio: the fill its worst round keeps */
	t[n] = (struct target){ .what = "heap churn, worst round (min)",
				.goal = 0.85,
				.value = 1,
				.fill = 1 };
	for (int i = 0; i < pmb_nresults; i++) {
		r = &pmb_results[i];
		if (strcmp(r->group, "churn") || !strstr(r->name, "worst"))
			continue;
		t[n].value = PM_MIN(t[n].value, r->t_pm);
		t[n].found = 1;
	}
	return n + 1;
}

/* ---- table and JSON -------------------------------------------------------- */

void pmb_print_table(double load)
{
	char a[32], b[32], l[32], fa[16], fb[16], q[24];
	struct target t[TARGETS_MAX];
	const struct pmb_result *r, *r2;
	int n = targets(t);

	printf("libpm %s vs PMDK; flush %s, copy %s from %zu B; "
	       "load average %.2f\n",
	       pm_version(), pm_flush_method(), pm_arch.copy_name,
	       pm_arch.movnt_threshold, load);
	printf("%-9s %-34s %12s %12s %7s %11s %11s %7s %5s\n", "group",
	       "workload", "libpm", "PMDK", "ratio", "min-max", "limit",
	       "fences", "PMDK*");
	for (int i = 0; i < pmb_nresults; i++) {
		r = &pmb_results[i];
		printf("%-9s %-34s %12s %12s %*.*fx %11s %11s %7s %5s\n",
		       r->group, r->name, fmt(a, r, r->t_pm),
		       fmt(b, r, r->t_pmdk), 6, ratio(r) < 0.1 ? 3 : 2,
		       ratio(r), span(q, r),
		       r->t_limit > 0 ? fmt(l, r, r->t_limit) : "",
		       fences(fa, r->f_pm), fences(fb, r->f_pmdk));
	}
	r = find("tx", "one 64 B write, random");
	r2 = find("tx", "one 64 B write, 2 threads");
	if (r && r2)
		printf("2 threads vs 1 (one 64 B write): libpm %.2fx, "
		       "PMDK %.2fx, limit %.2fx\n",
		       r->t_pm / r2->t_pm, r->t_pmdk / r2->t_pmdk,
		       r->t_limit / r2->t_limit);
	printf("ratio: libpm rate / PMDK rate (for times: PMDK / libpm; for "
	       "churn: libpm / PMDK), of the medians; min-max: the lowest "
	       "and highest ratio\nof one repetition (both libraries back to "
	       "back).  fences: per operation.\n"
	       "churn: live bytes / pool size after the first ENOMEM, and at "
	       "the emptiest of ten rounds of freeing half and filling.\n"
	       "* %s.\n",
	       pmdk_fence_note);
	for (int i = 0; i < n; i++)
		if (t[i].found) {
			printf("targets:\n");
			break;
		}
	for (int i = 0; i < n; i++) {
		const char *met = t[i].value >= t[i].goal ? "met" : "MISSED";
		char why[64] = "";

		if (!t[i].found)
			continue;
		if (t[i].fill) {
			printf("  %-34s >= %.0f%%   %5.1f%%  %s\n", t[i].what,
			       t[i].goal * 100, t[i].value * 100, met);
			continue;
		}
		if (t[i].value < t[i].goal && t[i].limit > 0)
			snprintf(why, sizeof(why), " (floor allows %.2fx%s)",
				 t[i].limit,
				 t[i].limit < t[i].goal ?
					 ": out of reach here" :
					 "");
		printf("  %-34s >= %.1fx  %5.2fx  %s%s\n", t[i].what, t[i].goal,
		       t[i].value, met, why);
	}
}

static void json_num(const char *key, double v, const char *sep)
{
	if (v < 0 || v != v)
		printf("\"%s\": null%s", key, sep);
	else
		printf("\"%s\": %.6g%s", key, v, sep);
}

void pmb_print_json(double load)
{
	struct target t[TARGETS_MAX];
	int n = targets(t), first = 1;

	printf("{\n  \"libpm\": \"%s\",\n  \"flush\": \"%s\",\n"
	       "  \"copy\": \"%s\",\n  ",
	       pm_version(), pm_flush_method(), pm_arch.copy_name);
	json_num("load_average", load, ",\n");
	printf("  \"pmdk_fences\": \"%s\",\n  \"results\": [\n",
	       pmdk_fence_note);
	for (int i = 0; i < pmb_nresults; i++) {
		const struct pmb_result *r = &pmb_results[i];
		int fill = !strcmp(r->unit, "%");

		printf("    { \"group\": \"%s\", \"workload\": \"%s\", "
		       "\"unit\": \"%s\", ",
		       r->group, r->name, r->unit);
		json_num("size", (double)r->size, ", ");
		json_num("libpm", value(r, r->t_pm), ", ");
		json_num("pmdk", value(r, r->t_pmdk), ", ");
		json_num("ratio", ratio(r), ", ");
		json_num("ratio_min", r->q_min > 0 ? r->q_min : -1, ", ");
		json_num("ratio_max", r->q_max > 0 ? r->q_max : -1, ", ");
		json_num("limit", r->t_limit > 0 ? value(r, r->t_limit) : -1,
			 ", ");
		json_num("libpm_sec_per_op", fill ? -1 : r->t_pm, ", ");
		json_num("pmdk_sec_per_op", fill ? -1 : r->t_pmdk, ", ");
		json_num("libpm_fences", r->f_pm, ", ");
		json_num("pmdk_fences", r->f_pmdk, " }");
		printf("%s\n", i + 1 < pmb_nresults ? "," : "");
	}
	printf("  ],\n  \"targets\": [");
	for (int i = 0; i < n; i++) {
		if (!t[i].found)
			continue;
		printf("%s\n    { \"target\": \"%s\", ", first ? "" : ",",
		       t[i].what);
		json_num("goal", t[i].goal, ", ");
		json_num("value", t[i].value, ", ");
		json_num("floor_allows", t[i].limit > 0 ? t[i].limit : -1,
			 ", ");
		printf("\"met\": %s }",
		       t[i].value >= t[i].goal ? "true" : "false");
		first = 0;
	}
	printf("\n  ]\n}\n");
}

/* ---- plot ------------------------------------------------------------------ */

static void plot_ratios(FILE *g)
{
	fprintf(g, "$R << EOD\n");
	for (int i = 0; i < pmb_nresults; i++) {
		const struct pmb_result *r = &pmb_results[i];

		fprintf(g, "\"%s: %s\" %g\n", r->group, r->name, ratio(r));
	}
	fprintf(g, "EOD\n");
	fprintf(g,
		"set title 'libpm vs PMDK per workload (PMDK = 1, higher is "
		"better for libpm)'\n"
		"set logscale y 2\nset yrange [0.0625:16]\n"
		"set ylabel 'libpm rate / PMDK rate'\n"
		"set style fill solid 0.8\nset boxwidth 0.7\n"
		"set xtics rotate by -60 left font ',8'\nset grid y\n"
		"set key top left\n"
		"clip(v) = v < 0.0625 ? 0.0625 : v > 16 ? 16 : v\n"
		"val(v) = v >= 10 ? sprintf('%%.0f', v) : sprintf('%%.2g', v)\n"
		/* values upright above their bars; those of bars that
		 * reach the top written down inside them, in white */
		"plot $R using 0:(clip($2)):xtic(1) "
		"with boxes lc rgb '#2060c0' title 'libpm', "
		"$R using 0:($2 >= 16 ? 1/0 : clip($2)):(val($2)) "
		"with labels rotate by 90 left offset 0,0.4 font ',8' "
		"notitle, "
		"$R using 0:($2 >= 16 ? 14 : 1/0):(val($2)) "
		"with labels rotate by 90 right tc rgb 'white' font ',8' "
		"notitle, 1 with lines lw 2 lc rgb '#c03020' title 'PMDK'\n");
}

static void plot_series(FILE *g, const char *group, int limit)
{
	for (int i = 0; i < pmb_nresults; i++) {
		const struct pmb_result *r = &pmb_results[i];
		double t = limit == 2 ? r->t_limit :
			   limit      ? r->t_pmdk :
					r->t_pm;

		if (!strcmp(r->group, group) && t > 0)
			fprintf(g, "%zu %g\n", r->size,
				(double)r->size / t / 1e9);
	}
	fprintf(g, "EOD\n");
}

static void plot_bandwidth(FILE *g)
{
	static const char *const blocks[] = { "$CP", "$CK", "$CL", "$PP",
					      "$PK" };
	static const char *const groups[] = { "memcpy", "memcpy", "memcpy",
					      "persist", "persist" };
	static const int which[] = { 0, 1, 2, 0, 1 };

	for (int i = 0; i < 5; i++) {
		fprintf(g, "%s << EOD\n", blocks[i]);
		plot_series(g, groups[i], which[i]);
	}
	fprintf(g, "unset logscale\nset logscale x 2\nset logscale y 10\n"
		   "set yrange [*:*]\nset autoscale y\n"
		   "set title 'bandwidth vs size, cache-line path'\n"
		   "set xlabel 'bytes per operation'\nset ylabel 'GB/s'\n"
		   "set xtics rotate by 0 font ',9' ('64' 64, '256' 256, "
		   "'4K' 4096, '64K' 65536, '1M' 1048576, '16M' 16777216)\n"
		   "set key bottom right\n"
		   "plot $CL using 1:2 with lines lw 3 dt 2 lc rgb 'gray40' "
		   "title 'limit: NT memset + sfence', "
		   "$CP using 1:2 with linespoints lw 2 pt 7 lc rgb '#2060c0' "
		   "title 'pm\\_memcpy', "
		   "$CK using 1:2 with linespoints lw 2 pt 5 lc rgb '#c03020' "
		   "title 'pmem\\_memcpy\\_persist', "
		   "$PP using 1:2 with linespoints lw 1 pt 6 lc rgb '#2060c0' "
		   "title 'store/line + pm\\_persist', "
		   "$PK using 1:2 with linespoints lw 1 pt 4 lc rgb '#c03020' "
		   "title 'store/line + pmem\\_persist'\n");
}

int pmb_plot(const char *file, double load)
{
	int mem = find("memcpy", "") != NULL;
	FILE *g = popen("gnuplot", "w");
	int ret;

	if (!g) {
		perror("pmbench: gnuplot");
		return -1;
	}
	fprintf(g,
		"set terminal pngcairo size 1400,620 font ',10'\n"
		"set output '%s'\n"
		"set multiplot layout 1,%d title 'libpm %s vs PMDK, "
		"flush %s, load average %.2f'\n"
		"set bmargin 12\n",
		file, mem ? 2 : 1, pm_version(), pm_flush_method(), load);
	plot_ratios(g);
	if (mem)
		plot_bandwidth(g);
	fprintf(g, "unset multiplot\n");
	ret = pclose(g);
	if (ret) {
		fprintf(stderr, "pmbench: gnuplot failed (status %d)\n", ret);
		return -1;
	}
	return 0;
}
