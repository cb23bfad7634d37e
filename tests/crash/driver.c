/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * driver.c - runs one workload under the crash simulator, writes every
 * crash image to a file, has the workload open and check it, and reports
 * violations with what it takes to reproduce them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afterlife.h"
#include "crash.h"

struct stream {
	uint64_t *begin, *end;
	unsigned n, cap;
};

static struct stream streams[CRASH_STREAMS];
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned crash_op_begin(struct crash_ctx *c, unsigned stream)
{
	struct stream *s = &streams[stream];
	unsigned op;

	pthread_mutex_lock(&ops_lock);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->begin = realloc(s->begin, s->cap * sizeof(*s->begin));
		s->end = realloc(s->end, s->cap * sizeof(*s->end));
		if (!s->begin || !s->end) {
			fprintf(stderr, "pmcrash: out of memory\n");
			exit(2);
		}
	}
	op = s->n++;
	s->begin[op] = pm_sim_points(c->sim);
	s->end[op] = UINT64_MAX;
	pthread_mutex_unlock(&ops_lock);
	return op;
}

void crash_op_end(struct crash_ctx *c, unsigned stream, unsigned op)
{
	pthread_mutex_lock(&ops_lock);
	streams[stream].end[op] = pm_sim_points(c->sim);
	pthread_mutex_unlock(&ops_lock);
}

/* Operations of a stream are sequential, so those that returned before
 * @point are a prefix. */
struct crash_at crash_at(struct crash_ctx *c, unsigned stream, uint64_t point)
{
	struct stream *s = &streams[stream];
	struct crash_at at = { 0, 0 };

	(void)c;
	while (at.done < s->n && s->end[at.done] <= point)
		at.done++;
	at.inflight = at.done < s->n && s->begin[at.done] <= point;
	return at;
}

static void streams_reset(void)
{
	for (unsigned i = 0; i < CRASH_STREAMS; i++) {
		free(streams[i].begin);
		free(streams[i].end);
		memset(&streams[i], 0, sizeof(streams[i]));
	}
}

int crash_fail(struct crash_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return 1;
}

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void crash_fill(void *buf, size_t len, uint64_t seed, uint64_t id)
{
	uint8_t *p = buf;
	uint64_t st = mix(seed ^ mix(id + 1)), v = 0;

	for (size_t i = 0; i < len; i++) {
		if (!(i & 7))
			v = mix(st + i);
		p[i] = (uint8_t)(v >> ((i & 7) * 8));
	}
}

long crash_cmp(const void *buf, size_t len, uint64_t seed, uint64_t id)
{
	const uint8_t *p = buf;
	uint64_t st = mix(seed ^ mix(id + 1)), v = 0;

	for (size_t i = 0; i < len; i++) {
		if (!(i & 7))
			v = mix(st + i);
		if (p[i] != (uint8_t)(v >> ((i & 7) * 8)))
			return (long)i;
	}
	return -1;
}

int crash_is_broken(const struct crash_ctx *c, const char *name)
{
	return c->brk && !strcmp(c->brk, name);
}

/* ---- exploring ---------------------------------------------------------- */

struct explore {
	struct crash_ctx *c;
	const struct crash_opts *o;
	struct crash_result *r;
	int fd;
	int64_t last_point;
};

static const char *kind_name(enum pm_sim_point_kind k)
{
	static const char *const names[] = { "fence", "flush", "unmap", "end" };

	return k <= PM_SIM_END ? names[k] : "?";
}

static int write_image(int fd, const struct pm_sim_image *img)
{
	size_t done = 0;

	if (ftruncate(fd, (off_t)img->size))
		return -errno;
	while (done < img->size) {
		ssize_t w = pwrite(fd, (const char *)img->data + done,
				   img->size - done, (off_t)done);

		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

static void keep_image(struct explore *x, const struct pm_sim_image *img)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/pmcrash-%d-%s-p%llu-i%llu.img",
		 x->o->dir, (int)getpid(), x->c->wl->name,
		 (unsigned long long)img->point,
		 (unsigned long long)img->index);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || write_image(fd, img))
		snprintf(path, sizeof(path), "(could not be saved)");
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "  image kept: %s\n", path);
}

static void report(struct explore *x, const struct pm_sim_image *img)
{
	const struct crash_ctx *c = x->c;

	fprintf(stderr,
		"pmcrash: VIOLATION %s: point %llu (%s), image %llu of %llu%s: "
		"%s\n",
		c->wl->name, (unsigned long long)img->point,
		kind_name(img->kind), (unsigned long long)img->index,
		(unsigned long long)img->nimages,
		img->sampled ? " (sampled)" : "", c->msg);
	if (x->r->violations == 1)
		keep_image(x, img);
	fprintf(stderr,
		"  reproduce: pmcrash -w %s -n %u -t %u --seed 0x%llx "
		"--exhaustive %u --samples %u --point %llu%s%s%s%s%s%s\n",
		c->wl->name, c->ops, c->threads,
		(unsigned long long)pm_sim_seed(c->sim), x->o->max_exhaustive,
		x->o->max_samples, (unsigned long long)img->point,
		(x->o->sim_flags & PM_SIM_WORDS) ? " --words" : "",
		(x->o->sim_flags & PM_SIM_FLUSH_POINTS) ? " --flush-points" :
							  "",
		c->strict ? " --strict" : "", c->damage ? " --damage" : "",
		c->brk ? " --break " : "", c->brk ? c->brk : "");
}

/* The image, recovered afresh, must go on working (afterlife.h): a
 * second copy, since the check has opened and closed the first. */
static int after(struct explore *x, const struct pm_sim_image *img)
{
	struct crash_ctx *c = x->c;
	char why[sizeof(c->msg)];
	int fd, ret;

	if (!c->wl->afterlife || !x->o->afterlife ||
	    x->r->images % x->o->afterlife)
		return 0;
	fd = open(c->image2, O_CREAT | O_TRUNC | O_RDWR, 0644);
	ret = fd < 0 ? -errno : write_image(fd, img);
	if (fd >= 0)
		close(fd);
	if (ret)
		return crash_fail(c, "after-life: %s: %s", c->image2,
				  strerror(-ret));
	ret = afterlife(c->image2, why, sizeof(why));
	unlink(c->image2);
	return ret ? crash_fail(c, "after-life: %s", why) : 0;
}

static int on_image(const struct pm_sim_image *img, void *arg)
{
	struct explore *x = arg;
	int ret;

	if (x->o->only_point >= 0 && (int64_t)img->point != x->o->only_point)
		return 0;
	if ((int64_t)img->point != x->last_point) {
		x->last_point = (int64_t)img->point;
		x->r->points++;
		x->r->sampled_points += (uint64_t)img->sampled;
		if (x->o->verbose > 1)
			fprintf(stderr,
				"point %llu (%s): %u lines, %u words, "
				"%llu images of %llu\n",
				(unsigned long long)img->point,
				kind_name(img->kind), img->nlines, img->nwords,
				(unsigned long long)img->nimages,
				(unsigned long long)img->possible);
	}
	ret = write_image(x->fd, img);
	if (ret) {
		fprintf(stderr, "pmcrash: %s: %s\n", x->c->image,
			strerror(-ret));
		return ret;
	}
	x->r->images++;
	x->c->msg[0] = '\0';
	if (x->c->wl->check(x->c, img) || after(x, img)) {
		x->r->violations++;
		if (x->r->violations <= x->o->max_reports)
			report(x, img);
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int record(struct crash_ctx *c, const struct crash_opts *o)
{
	struct pm_sim_opts so = {
		.sz = sizeof(so),
		.flags = o->sim_flags,
		.max_exhaustive = o->max_exhaustive,
		.max_samples = o->max_samples,
		.seed = o->seed,
	};
	int ret;

	if (c->wl->prepare) {
		ret = c->wl->prepare(c);
		if (ret)
			return ret;
	}
	ret = pm_sim_start(c->file, &so, &c->sim);
	if (ret)
		return ret;
	ret = c->wl->run(c);
	pm_sim_stop(c->sim);
	return ret;
}

static int explore(struct crash_ctx *c, const struct crash_opts *o,
		   struct crash_result *r)
{
	struct explore x = { .c = c, .o = o, .r = r, .last_point = -1 };
	int ret;

	x.fd = open(c->image, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (x.fd < 0) {
		fprintf(stderr, "pmcrash: %s: %s\n", c->image, strerror(errno));
		return -errno;
	}
	ret = pm_sim_explore(c->sim, on_image, &x);
	close(x.fd);
	return ret;
}

/* The recorded file and the image live in a directory of their own
 * (mkdtemp), so that no other run, test or clean-up can reach them by
 * name, even after the pid has been reused. */
static int ctx_init(struct crash_ctx *c, const struct crash_workload *wl,
		    const struct crash_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->wl = wl;
	c->ops = o->ops;
	c->threads = o->threads ? o->threads : 1;
	c->seed = o->seed;
	c->brk = o->brk;
	c->verbose = o->verbose;
	c->deep = o->deep;
	c->strict = o->strict;
	c->damage = o->damage;
	snprintf(c->dir, sizeof(c->dir), "%s/pmcrash.XXXXXX", o->dir);
	if (!mkdtemp(c->dir)) {
		fprintf(stderr, "pmcrash: %s: %s\n", c->dir, strerror(errno));
		return -errno;
	}
	snprintf(c->file, sizeof(c->file), "%s/%s.pool", c->dir, wl->name);
	snprintf(c->image, sizeof(c->image), "%s/%s.img", c->dir, wl->name);
	snprintf(c->image2, sizeof(c->image2), "%s/%s.img2", c->dir, wl->name);
	return 0;
}

int crash_run(const struct crash_workload *wl, const struct crash_opts *o,
	      struct crash_result *r)
{
	struct crash_ctx c;
	double t0 = now();
	int ret;

	memset(r, 0, sizeof(*r));
	ret = ctx_init(&c, wl, o);
	if (ret)
		return ret;
	ret = record(&c, o);
	if (ret)
		fprintf(stderr, "pmcrash: %s: the workload failed: %s\n",
			wl->name, pm_strerror(ret));
	else
		ret = explore(&c, o, r);
	r->noted = c.noted;
	if (wl->cleanup)
		wl->cleanup(&c);
	pm_sim_free(c.sim);
	streams_reset();
	unlink(c.file);
	unlink(c.image);
	rmdir(c.dir);
	r->seconds = now() - t0;
	return ret;
}
