/* SPDX-License-Identifier: BSD-3-Clause */
/* pmtool - create, inspect and maintain libpm files. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "json.h"
#include "libpm.h"
#include "msg.h"

static const char *const gran_names[] = { "byte", "cacheline", "page" };
static const char *const shutdown_names[] = { "clean", "unsupported", "dirty",
					      "error" };

static int json;
static char lasterr[512]; /* the library's last error message */

static void log_fn(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == PM_LOG_ERR)
		snprintf(lasterr, sizeof(lasterr), "%s", msg);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: pmtool [--json] COMMAND ...\n"
		   "       pmtool -h|--help | -V|--version\n"
		   "  create [--layout NAME] [--lanes N] [--lane-size BYTES]\n"
		   "         [--log-size BYTES] [--heap] FILE SIZE\n"
		   "  heap stats|walk FILE\n"
		   "  info FILE\n"
		   "  log dump [--from SEQ] FILE\n"
		   "  stats FILE\n"
		   "  badblocks list|clear [--force] FILE\n"
		   "sizes take a K, M or G suffix (powers of 1024)\n");
	return f == stderr ? 2 : 0;
}

static int fail(const char *path, int err)
{
	msg_file_err("pmtool", path, err, lasterr);
	return 1;
}

/* ---- info -------------------------------------------------------------- */

static void map_info(const char *path, size_t size,
		     const struct pm_map_info *mi)
{
	/* device-dax is DAX without MAP_SYNC: say so, not "no" */
	int devdax = !strcmp(mi->fs_type, "devdax");

	if (json) {
		fputs("{\"file\":", stdout);
		json_str(path);
		printf(",\"size\":%zu,\"granularity\":\"%s\","
		       "\"map_sync\":%s,\"forced\":%s,\"flush\":\"%s\","
		       "\"copy\":\"%s\",\"movnt_threshold\":%zu,"
		       "\"fs\":\"%s\",\"device\":\"%s\"",
		       size, gran_names[mi->granularity],
		       mi->map_sync ? "true" : "false",
		       mi->forced ? "true" : "false", mi->flush_method,
		       mi->copy_method, mi->movnt_threshold, mi->fs_type,
		       mi->device);
		return;
	}
	printf("file:            %s\nsize:            %zu\n"
	       "granularity:     %s%s\nMAP_SYNC:        %s\n"
	       "flush:           %s\ncopy:            %s\n"
	       "movnt threshold: %zu\nfile system:     %s\n"
	       "device:          %s\n",
	       path, size, gran_names[mi->granularity],
	       mi->forced ? " (forced)" : "",
	       mi->map_sync ? "yes" :
	       devdax	    ? "not needed (device-dax)" :
			      "no",
	       mi->flush_method, mi->copy_method, mi->movnt_threshold,
	       mi->fs_type, mi->device);
}

static void uuid_str(const uint8_t *u, char *buf)
{
	for (int i = 0, o = 0; i < 16; i++) {
		o += sprintf(buf + o, "%02x", u[i]);
		if (i == 3 || i == 5 || i == 7 || i == 9)
			buf[o++] = '-';
	}
}

static void pool_badblocks(const struct pm_pool_info *pi)
{
	for (size_t i = 0; i < pi->nbadblocks; i++) {
		const struct pm_pool_badblock *b = &pi->badblocks[i];

		if (json)
			printf("%s{\"offset\":%" PRIu64 ",\"length\":%" PRIu64
			       ",\"area\":\"%s\",\"lane\":%u}",
			       i ? "," : "", b->offset, b->length,
			       pm_area_name(b->area), b->lane);
		else
			printf("bad block:       %" PRIu64 " +%" PRIu64
			       " (%s)\n",
			       b->offset, b->length, pm_area_name(b->area));
	}
}

static void pool_info_json(const struct pm_pool_info *pi, const char *uuid)
{
	printf(",\"pool\":{\"version\":%u,\"uuid\":\"%s\",\"layout\":",
	       pi->version, uuid);
	json_str(pi->layout);
	printf(",\"pool_size\":%" PRIu64 ",\"data_offset\":%" PRIu64
	       ",\"data_size\":%" PRIu64 ",\"lanes_offset\":%" PRIu64
	       ",\"lane_size\":%" PRIu64
	       ",\"nlanes\":%u,\"log_offset\":%" PRIu64 ",\"log_size\":%" PRIu64
	       ",\"create_time\":%" PRIu64
	       ",\"header_repaired\":%u,\"tx_replayed\":%" PRIu64
	       ",\"next_seq\":%" PRIu64 ",\"shutdown\":\"%s\","
	       "\"badblocks_status\":%d,\"badblocks\":[",
	       pi->pool_size, pi->data_offset, pi->data_size, pi->lanes_offset,
	       pi->lane_size, pi->nlanes, pi->log_offset, pi->log_size,
	       pi->create_time, pi->header_repaired, pi->tx_replayed,
	       pi->next_seq, shutdown_names[pi->shutdown & 3],
	       pi->badblocks_status);
	pool_badblocks(pi);
	fputs("]}", stdout);
}

static void pool_info_text(const struct pm_pool_info *pi, const char *uuid)
{
	printf("pool version:    %u\nuuid:            %s\nlayout:          %s\n"
	       "pool size:       %" PRIu64 "\n"
	       "lanes:           %u x %" PRIu64 " bytes at %" PRIu64 "\n"
	       "log:             %" PRIu64 " bytes at %" PRIu64 "\n"
	       "data:            %" PRIu64 " bytes at %" PRIu64 "\n"
	       "created:         %" PRIu64 "\n"
	       "header repaired: %s\ntx replayed:     %" PRIu64 "\n"
	       "next tx seq:     %" PRIu64 "\nshutdown state:  %s\n"
	       "bad blocks:      ",
	       pi->version, uuid, pi->layout, pi->pool_size, pi->nlanes,
	       pi->lane_size, pi->lanes_offset, pi->log_size, pi->log_offset,
	       pi->data_size, pi->data_offset, pi->create_time,
	       pi->header_repaired ? "yes" : "no", pi->tx_replayed,
	       pi->next_seq, shutdown_names[pi->shutdown & 3]);
	if (pi->badblocks_status)
		printf("%s\n", pm_strerror(pi->badblocks_status));
	else
		printf("%zu\n", pi->nbadblocks);
	pool_badblocks(pi);
}

/* The mapping facts of any file, and all of pm_pool_info() for a pool
 * (opening it runs recovery, as any open does). */
static int cmd_info(const char *path)
{
	struct pm_pool_info pi;
	struct pm_map_info mi;
	struct pm_pool *pool;
	struct pm_map *m;
	char uuid[40];
	int ret = pm_map_file(path, 0, PM_MAP_READONLY, &m);

	if (ret)
		return fail(path, ret);
	pm_map_get_info(m, &mi);
	map_info(path, pm_map_size(m), &mi);
	pm_unmap(m);
	lasterr[0] = '\0';
	ret = pm_pool_open(path,
			   PM_POOL_IGNORE_BADBLOCKS | PM_POOL_IGNORE_SHUTDOWN,
			   &pool);
	if (ret == 0) {
		pm_pool_info(pool, &pi);
		uuid_str(pi.uuid, uuid);
		if (json)
			pool_info_json(&pi, uuid);
		else
			pool_info_text(&pi, uuid);
		pm_pool_close(pool);
	}
	if (json)
		puts("}");
	if (ret && ret != PM_E_NOT_POOL)
		return fail(path, ret);
	return 0;
}

/* ---- create ------------------------------------------------------------ */

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "layout", required_argument, NULL, 'L' },
		{ "lanes", required_argument, NULL, 'n' },
		{ "lane-size", required_argument, NULL, 's' },
		{ "log-size", required_argument, NULL, 'l' },
		{ "heap", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct pm_pool_opts o = { .sz = sizeof(o) };
	struct pm_pool *pool;
	uint64_t v, size;
	int c, ret = 0;

	optind = 1;
	/* 0 lanes or lane size would silently mean the default: refused */
	while (!ret && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'L') {
			o.layout = optarg;
		} else if (c == 'n') {
			ret = arg_uint("--lanes", optarg, 1, UINT_MAX,
				       &o.nlanes);
		} else if (c == 's') {
			ret = arg_u64("--lane-size", optarg, 1, SIZE_MAX,
				      ARG_SUFFIX, &v);
			o.lane_size = (size_t)v;
		} else if (c == 'l') {
			ret = arg_u64("--log-size", optarg, 0, SIZE_MAX,
				      ARG_SUFFIX, &v);
			o.log_size = (size_t)v;
		} else if (c == 'H') {
			o.flags |= PM_POOL_HEAP;
		} else {
			return usage(stderr);
		}
	}
	if (ret)
		return 2;
	if (optind + 2 != argc)
		return usage(stderr);
	if (arg_u64("SIZE", argv[optind + 1], 0, SIZE_MAX, ARG_SUFFIX, &size))
		return 2;
	ret = pm_pool_create(argv[optind], size, &o, &pool);
	if (ret)
		return fail(argv[optind], ret);
	pm_pool_close(pool);
	return 0;
}

/* ---- log dump ----------------------------------------------------------- */

static int dump_rec(uint64_t seq, const void *rec, size_t len, void *arg)
{
	const unsigned char *p = rec;

	(void)arg;
	if (json) {
		printf("{\"seq\":%" PRIu64 ",\"len\":%zu,\"data\":\"", seq,
		       len);
		for (size_t i = 0; i < len; i++)
			printf("%02x", p[i]);
		puts("\"}");
		return 0;
	}
	printf("%10" PRIu64 " %6zu  ", seq, len);
	for (size_t i = 0; i < len && i < 56; i++)
		putchar(isprint(p[i]) ? p[i] : '.');
	puts(len > 56 ? "..." : "");
	return 0;
}

/* One line per record, oldest first (JSON: one object per line). */
static int cmd_log_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct pm_pool *pool;
	struct pm_log *log;
	uint64_t from = 0;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return usage(stderr);
		if (arg_u64("--from", optarg, 0, UINT64_MAX, 0, &from))
			return 2;
	}
	if (optind + 1 != argc)
		return usage(stderr);
	ret = pm_pool_open(argv[optind], 0, &pool);
	if (ret)
		return fail(argv[optind], ret);
	ret = pm_pool_log(pool, &log);
	if (!ret)
		ret = pm_log_walk(log, from, dump_rec, NULL);
	pm_pool_close(pool);
	return ret ? fail(argv[optind], ret) : 0;
}

/* ---- stats --------------------------------------------------------------- */

static void stats_print(const struct pm_pool_info *pi,
			const struct pm_log_info *li, int has_log,
			const struct pm_stats *st)
{
	if (json) {
		printf("{\"tx_next_seq\":%" PRIu64 ",\"tx_replayed\":%" PRIu64,
		       pi->next_seq, pi->tx_replayed);
		if (has_log)
			printf(",\"log\":{\"capacity\":%" PRIu64
			       ",\"used\":%" PRIu64 ",\"records\":%" PRIu64
			       ",\"first_seq\":%" PRIu64
			       ",\"next_seq\":%" PRIu64
			       ",\"max_record\":%" PRIu64 "}",
			       li->capacity, li->used, li->nrecords,
			       li->first_seq, li->next_seq, li->max_record);
		printf(",\"open\":{\"flushes\":%" PRIu64 ",\"fences\":%" PRIu64
		       ",\"bytes_flushed\":%" PRIu64 ",\"msyncs\":%" PRIu64
		       "}}\n",
		       st->flushes, st->fences, st->bytes_flushed, st->msyncs);
		return;
	}
	printf("tx next seq:     %" PRIu64 "\ntx replayed:     %" PRIu64 "\n",
	       pi->next_seq, pi->tx_replayed);
	if (has_log)
		printf("log records:     %" PRIu64 " (seq %" PRIu64 "..%" PRIu64
		       ")\nlog used:        %" PRIu64 " of %" PRIu64
		       " bytes\nlog max record:  %" PRIu64 "\n",
		       li->nrecords, li->first_seq, li->next_seq - 1, li->used,
		       li->capacity, li->max_record);
	printf("open cost:       %" PRIu64 " flushes, %" PRIu64
	       " fences, %" PRIu64 " bytes flushed, %" PRIu64 " msyncs\n",
	       st->flushes, st->fences, st->bytes_flushed, st->msyncs);
}

/* What the pool holds, and what opening it (recovery) cost. */
static int cmd_stats(const char *path)
{
	struct pm_log_info li = { 0 };
	struct pm_pool_info pi;
	struct pm_pool *pool;
	struct pm_stats st;
	struct pm_log *log;
	int ret, has_log;

	pm_stats_reset();
	ret = pm_pool_open(path, 0, &pool);
	if (ret)
		return fail(path, ret);
	pm_stats_get(&st);
	pm_pool_info(pool, &pi);
	has_log = pm_pool_log(pool, &log) == 0 &&
		  pm_log_get_info(log, &li) == 0;
	stats_print(&pi, &li, has_log, &st);
	pm_pool_close(pool);
	return 0;
}

/* ---- heap stats|walk ------------------------------------------------------ */

static void heap_stats_print(const struct pm_heap_stats *st)
{
	if (json) {
		printf("{\"total\":%" PRIu64 ",\"allocated\":%" PRIu64
		       ",\"free\":%" PRIu64 ",\"largest_free\":%" PRIu64
		       ",\"objects\":%" PRIu64 ",\"runs\":%" PRIu64
		       ",\"extents\":%" PRIu64 ",\"fragmentation\":%.4f}\n",
		       st->total, st->allocated, st->free, st->largest_free,
		       st->objects, st->runs, st->extents, st->fragmentation);
		return;
	}
	printf("heap bytes:      %" PRIu64 "\nallocated:       %" PRIu64
	       " bytes in %" PRIu64 " objects\nfree:            %" PRIu64
	       " bytes (largest free extent %" PRIu64
	       ")\nruns, extents:   %" PRIu64 ", %" PRIu64
	       "\nfragmentation:   %.1f %%\n",
	       st->total, st->allocated, st->objects, st->free,
	       st->largest_free, st->runs, st->extents,
	       st->fragmentation * 100);
}

static int walk_print(uint64_t off, size_t size, void *arg)
{
	(void)arg;
	if (json)
		printf("{\"offset\":%" PRIu64 ",\"size\":%zu}\n", off, size);
	else
		printf("%#14" PRIx64 " %10zu\n", off, size);
	return 0;
}

/* The heap of a heap pool: its numbers, or one line per object. */
static int cmd_heap(const char *what, const char *path)
{
	struct pm_heap_stats st;
	struct pm_pool *pool;
	int ret, walk = !strcmp(what, "walk");

	if (!walk && strcmp(what, "stats"))
		return usage(stderr);
	ret = pm_pool_open(path, 0, &pool);
	if (ret)
		return fail(path, ret);
	if (walk)
		ret = pm_heap_walk(pool, walk_print, NULL);
	else if (!(ret = pm_heap_stats(pool, &st)))
		heap_stats_print(&st);
	pm_pool_close(pool);
	return ret ? fail(path, ret) : 0;
}

/* ---- badblocks list|clear ------------------------------------------------ */

/* A file's bad ranges; for a pool, each split by the structure it hits. */
struct bb_set {
	int status; /* 0 or -ENOTSUP */
	int pool;
	size_t n;
	struct pm_pool_badblock *v;
};

static int bb_get(const char *path, struct bb_set *s)
{
	struct pm_badblock *f;
	int ret = pm_pool_badblocks_list(path, &s->v, &s->n);

	s->pool = ret != PM_E_NOT_POOL;
	if (ret == PM_E_NOT_POOL) {
		lasterr[0] = '\0';
		ret = pm_badblocks_list(path, &f, &s->n);
		s->v = ret ? NULL : calloc(s->n ? s->n : 1, sizeof(*s->v));
		if (!ret && !s->v)
			ret = -ENOMEM;
		for (size_t i = 0; !ret && i < s->n; i++) {
			s->v[i].offset = f[i].offset;
			s->v[i].length = f[i].length;
			s->v[i].area = PM_AREA_NONE;
		}
		if (!ret)
			pm_badblocks_free(f);
	}
	s->status = ret;
	if (ret == -ENOTSUP) {
		lasterr[0] = '\0';
		s->n = 0;
		return 0;
	}
	return ret;
}

static void bb_put(struct bb_set *s)
{
	if (s->pool)
		pm_pool_badblocks_free(s->v);
	else
		free(s->v);
}

static const char *bb_where(const struct bb_set *s, size_t i, char *buf,
			    size_t len)
{
	const struct pm_pool_badblock *b = &s->v[i];

	if (!s->pool)
		snprintf(buf, len, "file");
	else if (b->area == PM_AREA_LANES)
		snprintf(buf, len, "lane %u", b->lane);
	else
		snprintf(buf, len, "%s", pm_area_name(b->area));
	return buf;
}

static void bb_print(const struct bb_set *s, size_t i, const char *result)
{
	char where[32];

	bb_where(s, i, where, sizeof(where));
	if (json) {
		printf("%s{\"offset\":%" PRIu64 ",\"length\":%" PRIu64
		       ",\"structure\":\"%s\"",
		       i ? "," : "", s->v[i].offset, s->v[i].length, where);
		if (result) {
			printf(",\"result\":");
			json_str(result);
		}
		putchar('}');
	} else {
		printf("offset %" PRIu64 " length %" PRIu64 " %s%s%s\n",
		       s->v[i].offset, s->v[i].length, where,
		       result ? ": " : "", result ? result : "");
	}
}

static void bb_head(const char *path, const struct bb_set *s)
{
	if (json) {
		printf("{\"file\":");
		json_str(path);
		printf(",\"status\":\"%s\",\"pool\":%s,\"badblocks\":[",
		       s->status ? "unsupported" : "ok",
		       s->pool ? "true" : "false");
	} else if (s->status) {
		printf("%s: the device cannot report bad blocks\n", path);
	} else {
		printf("%s: %zu bad range%s\n", path, s->n,
		       s->n == 1 ? "" : "s");
	}
}

#define AREA(a) (1U << (a))
#define HDRS (AREA(PM_AREA_HEADER_A) | AREA(PM_AREA_HEADER_B))

static int is_hdr(enum pm_area a)
{
	return a == PM_AREA_HEADER_A || a == PM_AREA_HEADER_B;
}

/* The pool areas the ranges of @s hit (1 << enum pm_area each). */
static unsigned bb_areas(const struct bb_set *s)
{
	unsigned m = 0;

	for (size_t i = 0; s->pool && i < s->n; i++)
		m |= AREA(s->v[i].area);
	return m;
}

static const char *const headers_lost_note =
	"both pool header copies are on bad blocks: the pool cannot be "
	"opened, and clearing them (--force) loses it";

static int cmd_bb_list(const char *path)
{
	struct bb_set s = { 0 };
	int ret = bb_get(path, &s), lost;

	if (ret)
		return fail(path, ret);
	lost = (bb_areas(&s) & HDRS) == HDRS;
	bb_head(path, &s);
	for (size_t i = 0; i < s.n; i++)
		bb_print(&s, i, NULL);
	if (json)
		printf("],\"headers_lost\":%s}\n", lost ? "true" : "false");
	else if (lost)
		printf("note: %s\n", headers_lost_note);
	bb_put(&s);
	return 0;
}

/* Why range @i of a pool is not cleared without --force, or NULL: it is
 * metadata with no copy left to rebuild it from. */
static const char *bb_needs_force(const struct bb_set *s, size_t i,
				  unsigned areas)
{
	enum pm_area a = s->v[i].area;

	if (!s->pool)
		return NULL;
	if (is_hdr(a) && (areas & HDRS) == HDRS)
		return headers_lost_note;
	if (a == PM_AREA_LANES)
		return "a lane has no copy: clearing loses its header and "
		       "the committed transactions in it not yet applied";
	if (a == PM_AREA_LOG)
		return "the log has no copy: clearing loses its header and "
		       "the records there";
	return NULL;
}

/* What clearing does to the file, over all ranges. */
struct bb_clear {
	int force;
	unsigned areas;	  /* bb_areas() before the clear */
	unsigned refused; /* ranges left alone for want of --force */
	int failed;
	int headers_lost; /* the file is no longer a pool */
	uint64_t lost;	  /* metadata bytes lost with --force */
};

static const char *bb_clear_one(const char *path, const struct bb_set *s,
				size_t i, struct bb_clear *c, char *buf,
				size_t len)
{
	struct pm_badblock bb = { s->v[i].offset, s->v[i].length };
	const char *why = bb_needs_force(s, i, c->areas);
	enum pm_area a = s->v[i].area;
	int ret;

	if (why && !c->force) {
		c->refused++;
		snprintf(buf, len, "refused: %s", why);
		return buf;
	}
	lasterr[0] = '\0';
	ret = pm_badblocks_clear(path, &bb);
	/* both header copies gone: the library says so, and it is what
	 * --force asked for */
	if (why && is_hdr(a) && (ret == PM_E_CORRUPT || c->headers_lost)) {
		c->headers_lost = 1;
		ret = 0;
	} else if (s->pool && is_hdr(a) && !ret) {
		snprintf(buf, len, "rebuilt from the other header copy");
		return buf;
	}
	if (ret) {
		c->failed = 1;
		snprintf(buf, len, "failed: %s",
			 lasterr[0] ? lasterr : pm_strerror(ret));
	} else if (why) {
		c->lost += bb.length;
		snprintf(buf, len,
			 "cleared (--force), lost: %" PRIu64 " bytes "
			 "of %s",
			 bb.length,
			 is_hdr(a)	  ? "pool header" :
			 a == PM_AREA_LOG ? "log header and records" :
					    "lane header and entries");
	} else {
		snprintf(buf, len, "cleared, contents lost (now zero)");
	}
	return buf;
}

static void bb_clear_summary(const struct bb_clear *c, size_t remaining)
{
	if (json) {
		printf("],\"remaining\":%zu,\"refused\":%u,"
		       "\"lost_metadata_bytes\":%" PRIu64 ","
		       "\"headers_lost\":%s}\n",
		       remaining, c->refused, c->lost,
		       c->headers_lost ? "true" : "false");
		return;
	}
	if (c->refused)
		printf("refused: %u range%s of pool metadata with no copy "
		       "(--force clears them, losing their contents)\n",
		       c->refused, c->refused == 1 ? "" : "s");
	if (c->lost)
		printf("lost with --force: %" PRIu64 " bytes of pool "
		       "metadata\n",
		       c->lost);
	if (c->headers_lost)
		printf("pool headers lost: the file is no longer a libpm "
		       "pool\n");
	printf("remaining: %zu\n", remaining);
}

static int cmd_bb_clear(const char *path, int force)
{
	struct bb_set s = { 0 }, after = { 0 };
	struct bb_clear c = { .force = force };
	char buf[600];
	int ret = bb_get(path, &s);

	if (ret)
		return fail(path, ret);
	c.areas = bb_areas(&s);
	bb_head(path, &s);
	for (size_t i = 0; i < s.n; i++)
		bb_print(&s, i,
			 bb_clear_one(path, &s, i, &c, buf, sizeof(buf)));
	/* The device's list keeps entries that no longer belong to the file:
	 * only a fresh mapping says what is still bad. */
	ret = bb_get(path, &after);
	bb_clear_summary(&c, ret ? s.n : after.n);
	bb_put(&s);
	if (!ret)
		bb_put(&after);
	return ret || after.n || c.failed || c.refused ? 1 : 0;
}

static int cmd_badblocks(int argc, char **argv)
{
	const char *path = NULL;
	int force = 0;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!path)
			path = argv[i];
		else
			return usage(stderr);
	}
	if (!path)
		return usage(stderr);
	if (!strcmp(argv[1], "list") && !force)
		return cmd_bb_list(path);
	if (!strcmp(argv[1], "clear"))
		return cmd_bb_clear(path, force);
	return usage(stderr);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, n;
	char **v;

	while ((c = getopt_long(argc, argv, "+jhV", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h')
			return usage(stdout);
		else if (c == 'V')
			return msg_version("pmtool");
		else
			return usage(stderr);
	}
	pm_set_log_fn(log_fn, NULL);
	n = argc - optind;
	v = argv + optind;
	if (n == 2 && !strcmp(v[0], "info"))
		return cmd_info(v[1]);
	if (n == 2 && !strcmp(v[0], "stats"))
		return cmd_stats(v[1]);
	if (n == 3 && !strcmp(v[0], "heap"))
		return cmd_heap(v[1], v[2]);
	if (n >= 1 && !strcmp(v[0], "create"))
		return cmd_create(n, v);
	if (n >= 3 && !strcmp(v[0], "badblocks"))
		return cmd_badblocks(n, v);
	if (n >= 2 && !strcmp(v[0], "log") && !strcmp(v[1], "dump"))
		return cmd_log_dump(n - 1, v + 1);
	return usage(stderr);
}
