/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim.c - the crash simulator's recording side.
 *
 * Invariant (the model it records, Px86 at cache-line granularity): a
 * store is durable once a flush (or a non-temporal copy) of its line was
 * issued after it and a fence of the same thread followed.  The recorder
 * keeps the shadow durable image D, which holds exactly the guaranteed
 * state: a flush snapshots the lines it writes back (their contents at the
 * flush), a fence folds the fencing thread's snapshots into D.  Anything
 * else in the live mapping may or may not have reached the media.
 *
 * A crash point (before each fence takes effect, at unmap and at the end)
 * stores, for every line that may still differ from D, the chain of its
 * known states in order: pending snapshots, ordered-store marks
 * (pm_map_store64()) and the live contents.  The chain is all that is
 * known about the order of the line's stores; sim_image.c turns D plus the
 * chains into crash images.  Diffing live against D finds every store that
 * is not known to be durable, so no store instrumentation is needed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "map.h"
#include "os.h"
#include "sim_trace.h"

struct pm_sim *pm_sim_active;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t next_tid;
static __thread uint32_t my_tid;

static uint32_t sim_tid(void)
{
	if (!my_tid)
		my_tid = __atomic_add_fetch(&next_tid, 1, __ATOMIC_RELAXED);
	return my_tid;
}

/* ---- the trace ---------------------------------------------------------- */

static void *trace_put(struct pm_sim *s, const void *p, size_t len)
{
	void *at;

	if (s->err)
		return NULL;
	if (s->tlen + len > s->tcap) {
		size_t cap = PM_MAX(s->tcap * 2, s->tlen + len + (1 << 16));
		uint8_t *t = pm_realloc(s->trace, cap);

		if (!t) {
			s->err = pm_err(-ENOMEM,
					"crash simulator: trace of %zu "
					"bytes does not fit in memory",
					cap);
			return NULL;
		}
		s->trace = t;
		s->tcap = cap;
	}
	at = s->trace + s->tlen;
	if (p)
		memcpy(at, p, len);
	s->tlen += len;
	return at;
}

static void trace_event(struct pm_sim *s, uint32_t type, uint32_t n,
			uint64_t arg)
{
	struct sim_ev ev = { .type = type, .n = n, .arg = arg };

	trace_put(s, &ev, sizeof(ev));
}

/* ---- the durable image ---------------------------------------------------- */

static int grow(struct pm_sim *s, size_t size)
{
	size_t lines = size / PM_CACHELINE, old = s->size / PM_CACHELINE;
	uint8_t *d;
	uint64_t *q;

	if (size <= s->size)
		return 0;
	d = pm_realloc(s->dur, size);
	if (!d)
		return -ENOMEM;
	s->dur = d;
	q = pm_realloc(s->dur_seq, (lines + 1) * sizeof(*q));
	if (!q)
		return -ENOMEM;
	s->dur_seq = q;
	memset(s->dur + s->size, 0, size - s->size);
	memset(q + old, 0, (lines + 1 - old) * sizeof(*q));
	s->size = size;
	trace_event(s, SIM_EV_GROW, 0, size);
	return 0;
}

/* ---- pending line states -------------------------------------------------- */

static void pend_add(struct pm_sim *s, uint64_t off, const uint8_t *line,
		     int wb)
{
	struct sim_ver *v;

	if (s->npend == s->cpend) {
		size_t cap = PM_MAX(s->cpend * 2, 256);
		struct sim_ver *p = pm_realloc(s->pend, cap * sizeof(*p));

		if (!p) {
			s->err = pm_err(-ENOMEM,
					"crash simulator: out of memory");
			return;
		}
		s->pend = p;
		s->cpend = cap;
	}
	v = &s->pend[s->npend++];
	v->off = off;
	v->seq = ++s->seq;
	v->tid = sim_tid();
	v->wb = (uint32_t)wb;
	memcpy(v->data, line, PM_CACHELINE);
}

/* Snapshot the lines of [addr, addr+len) inside the recorded mapping. */
static void snap_range(struct pm_sim *s, const void *addr, size_t len, int wb)
{
	const struct pm_map *m = s->map;
	uintptr_t base = (uintptr_t)m->addr, a = (uintptr_t)addr;
	uint64_t off, end;

	if (!len || a < base || a - base >= m->size)
		return;
	off = PM_ALIGN_DOWN((uint64_t)(a - base), (uint64_t)PM_CACHELINE);
	end = PM_MIN((uint64_t)(a - base) + len, (uint64_t)m->size);
	for (; off < end && off + PM_CACHELINE <= s->size; off += PM_CACHELINE)
		pend_add(s, off, m->addr + off, wb);
}

/* The fencing thread's snapshots become durable (newest wins per line);
 * whatever they supersede is dropped. */
static void fold(struct pm_sim *s, uint32_t tid)
{
	size_t i, j = 0;

	for (i = 0; i < s->npend; i++) {
		struct sim_ver *v = &s->pend[i];
		uint64_t line = v->off / PM_CACHELINE;

		if (v->tid != tid || !v->wb || v->seq < s->dur_seq[line])
			continue;
		s->dur_seq[line] = v->seq;
		if (memcmp(s->dur + v->off, v->data, PM_CACHELINE)) {
			memcpy(s->dur + v->off, v->data, PM_CACHELINE);
			trace_event(s, SIM_EV_FOLD, 0, v->off);
			trace_put(s, v->data, PM_CACHELINE);
		}
	}
	for (i = 0; i < s->npend; i++) {
		struct sim_ver *v = &s->pend[i];

		if ((v->tid == tid && v->wb) ||
		    v->seq <= s->dur_seq[v->off / PM_CACHELINE])
			continue;
		s->pend[j++] = *v;
	}
	s->npend = j;
}

/* ---- crash points --------------------------------------------------------- */

static int ver_cmp(const void *a, const void *b)
{
	const struct sim_ver *x = *(const struct sim_ver *const *)a;
	const struct sim_ver *y = *(const struct sim_ver *const *)b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append the chain of line @off (pending states @v[0..n), then @live) if
 * it leads anywhere but D; returns 1 if it did. */
static int put_line(struct pm_sim *s, uint64_t off, struct sim_ver **v,
		    size_t n, const uint8_t *live)
{
	const uint8_t *prev = s->dur + off;
	struct sim_line *l = NULL;
	size_t at = 0;

	for (size_t i = 0; i <= n; i++) {
		const uint8_t *cur = i < n ? v[i]->data : live;

		if (!cur || !memcmp(cur, prev, PM_CACHELINE))
			continue;
		if (!l) {
			at = s->tlen;
			if (!trace_put(s, NULL, sizeof(*l)))
				return 0;
			l = (struct sim_line *)(s->trace + at);
			l->off = off;
			l->nver = 0;
		}
		if (!trace_put(s, cur, PM_CACHELINE))
			return 0;
		/* the trace may have moved */
		l = (struct sim_line *)(s->trace + at);
		l->nver++;
		prev = cur;
	}
	return l != NULL;
}

static int line_differs(const struct pm_sim *s, const uint8_t *live,
			uint64_t off)
{
	return live && memcmp(live + off, s->dur + off, PM_CACHELINE);
}

/* Walk every line: those with pending states or live contents unlike D. */
static uint32_t put_lines(struct pm_sim *s, struct sim_ver **sorted,
			  const uint8_t *live, size_t live_size)
{
	uint64_t size = PM_MIN((uint64_t)live_size, (uint64_t)s->size);
	size_t k = 0;
	uint32_t nlines = 0;

	size = PM_ALIGN_DOWN(size, (uint64_t)PM_CACHELINE);
	for (uint64_t page = 0; page < s->size; page += 4096) {
		uint64_t pend = page + 4096;
		uint64_t cmp = size > page ? PM_MIN(size, pend) - page : 0;

		if ((k == s->npend || sorted[k]->off >= pend) &&
		    (!cmp || !memcmp(live + page, s->dur + page, cmp)))
			continue;
		for (uint64_t off = page; off < PM_MIN(pend, (uint64_t)s->size);
		     off += PM_CACHELINE) {
			size_t n = 0;

			while (k + n < s->npend && sorted[k + n]->off == off)
				n++;
			if (n || (off < size && line_differs(s, live, off)))
				nlines += (uint32_t)put_line(
					s, off, sorted + k, n,
					off < size ? live + off : NULL);
			k += n;
		}
	}
	return nlines;
}

static void point(struct pm_sim *s, enum pm_sim_point_kind kind,
		  const uint8_t *live, size_t live_size)
{
	struct sim_ver **sorted = NULL;
	size_t at = s->tlen;

	if (s->npend) {
		sorted = pm_malloc(s->npend * sizeof(*sorted));
		if (!sorted) {
			s->err = pm_err(-ENOMEM,
					"crash simulator: out of memory");
			return;
		}
		for (size_t i = 0; i < s->npend; i++)
			sorted[i] = &s->pend[i];
		qsort(sorted, s->npend, sizeof(*sorted), ver_cmp);
	}
	trace_event(s, SIM_EV_POINT, 0, kind);
	if (!s->err) {
		uint32_t n = put_lines(s, sorted, live, live_size);

		if (!s->err)
			((struct sim_ev *)(s->trace + at))->n = n;
	}
	pm_free(sorted);
	__atomic_store_n(&s->npoints, s->npoints + 1, __ATOMIC_RELEASE);
}

/* ---- the recording table ---------------------------------------------------- */

/* A write-back that failed is not recorded: its lines are not known to
 * be written back. */
static int sim_flush(const struct pm_map *m, const void *addr, size_t len)
{
	struct pm_sim *s = m->sim;
	int ret = s->real->flush(m, addr, len);

	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	snap_range(s, addr, len, 1);
	if (s->flags & PM_SIM_FLUSH_POINTS)
		point(s, PM_SIM_FLUSH, m->addr, m->size);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sim_drain(const struct pm_map *m)
{
	struct pm_sim *s = m->sim;

	pthread_mutex_lock(&s->lock);
	point(s, PM_SIM_FENCE, m->addr, m->size);
	fold(s, sim_tid());
	pthread_mutex_unlock(&s->lock);
	return s->real->drain(m);
}

/* Cached copies and fills are flushed and non-temporal ones write whole
 * lines (the unaligned head and tail are flushed): either way every
 * touched line is written back, in no particular order within the line
 * (unless the copy's write-back failed: @ret, returned). */
static int snap_copy(const struct pm_map *m, void *dst, size_t len,
		     unsigned flags, int ret)
{
	struct pm_sim *s = m->sim;

	if (ret || (flags & PM_MEM_NOFLUSH))
		return ret;
	pthread_mutex_lock(&s->lock);
	snap_range(s, dst, len, 1);
	if (s->flags & PM_SIM_FLUSH_POINTS)
		point(s, PM_SIM_FLUSH, m->addr, m->size);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sim_memcpy(const struct pm_map *m, void *dst, const void *src,
		      size_t len, unsigned flags)
{
	struct pm_sim *s = m->sim;

	return snap_copy(m, dst, len, flags,
			 s->real->memcpy(m, dst, src, len, flags));
}

static int sim_memcpy_crc(const struct pm_map *m, void *dst, const void *src,
			  size_t len, unsigned flags, uint32_t *crc)
{
	struct pm_sim *s = m->sim;

	return snap_copy(m, dst, len, flags,
			 s->real->memcpy_crc(m, dst, src, len, flags, crc));
}

static int sim_memset(const struct pm_map *m, void *dst, int c, size_t len,
		      unsigned flags)
{
	struct pm_sim *s = m->sim;

	return snap_copy(m, dst, len, flags,
			 s->real->memset(m, dst, c, len, flags));
}

/* pm_map_store64() while recorded: the line before and after the store. */
static void sim_store64(const struct pm_map *m, uint64_t *dst, uint64_t v)
{
	struct pm_sim *s = m->sim;

	pthread_mutex_lock(&s->lock);
	snap_range(s, dst, sizeof(*dst), 0);
	__atomic_store_n(dst, v, __ATOMIC_RELEASE);
	snap_range(s, dst, sizeof(*dst), 0);
	pthread_mutex_unlock(&s->lock);
}

static const struct pm_persist_ops sim_ops = {
	.flush = sim_flush,
	.drain = sim_drain,
	.memcpy = sim_memcpy,
	.memset = sim_memset,
	.memcpy_crc = sim_memcpy_crc,
	.store64 = sim_store64,
};

/* ---- attaching mappings ----------------------------------------------------- */

static int same_file(struct pm_sim *s, const struct pm_map *m)
{
	struct stat st;

	if (fstat(m->fd, &st))
		return 0;
	if (!s->have_ino) {
		if (strcmp(m->path, s->path))
			return 0;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->have_ino = 1;
	}
	return st.st_dev == s->dev && st.st_ino == s->ino;
}

/* A new mapping: recorded if it is the session's file, writable. */
static void sim_attach(struct pm_map *m)
{
	struct pm_sim *s;

	pthread_mutex_lock(&active_lock);
	s = pm_sim_active;
	if (!s || (m->flags & PM_MAP_READONLY))
		goto out;
	pthread_mutex_lock(&s->lock);
	if (s->map) {
		if (same_file(s, m))
			pm_warn("crash simulator: %s mapped twice, the second "
				"mapping is not recorded",
				m->path);
	} else if (same_file(s, m)) {
		if (grow(s, PM_ALIGN_DOWN(m->size, (size_t)PM_CACHELINE)))
			s->err = pm_err(-ENOMEM,
					"crash simulator: out of memory");
		s->real = m->ops;
		s->map = m;
		m->sim = s;
		m->ops = &sim_ops;
	}
	pthread_mutex_unlock(&s->lock);
out:
	pthread_mutex_unlock(&active_lock);
}

/* A recorded mapping goes away: its last crash point. */
static void sim_detach(struct pm_map *m)
{
	struct pm_sim *s = m->sim;

	pthread_mutex_lock(&s->lock);
	point(s, PM_SIM_UNMAP, m->addr, m->size);
	m->ops = s->real;
	m->sim = NULL;
	s->map = NULL;
	pthread_mutex_unlock(&s->lock);
}

static const struct pm_map_watch sim_watch = {
	.created = sim_attach,
	.gone = sim_detach,
};

/* ---- the session -------------------------------------------------------------- */

static int read_file(const char *path, uint8_t **bufp, size_t *sizep)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	/* O_NONBLOCK: a FIFO is refused below instead of hanging here */
	int fd = pm_os_open(path, O_RDONLY | O_NONBLOCK, 0);

	*bufp = NULL;
	*sizep = 0;
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return pm_err(fd, "%s: %s", path, pm_strerror(fd));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return pm_err(-EINVAL, "%s: not a regular file", path);
	}
	buf = pm_zalloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return pm_err(-ENOMEM, "%s: %lld bytes do not fit in memory",
			      path, (long long)st.st_size);
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + done, (size_t)st.st_size - done,
				  (off_t)done);

		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	*bufp = buf;
	*sizep = PM_ALIGN_DOWN(done, (size_t)PM_CACHELINE);
	return 0;
}

static int opts_get(const struct pm_sim_opts *opts, struct pm_sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (!opts)
		return 0;
	if (opts->sz < offsetof(struct pm_sim_opts, flags) + sizeof(unsigned))
		return pm_err(-EINVAL, "pm_sim_start: opts->sz %zu too small",
			      opts->sz);
	for (size_t i = sizeof(*o); i < opts->sz; i++)
		if (((const uint8_t *)opts)[i])
			return pm_err(-EINVAL,
				      "pm_sim_start: unknown option "
				      "bytes past offset %zu",
				      sizeof(*o));
	memcpy(o, opts, PM_MIN(opts->sz, sizeof(*o)));
	if (o->flags & ~PM_SIM_VALID)
		return pm_err(-EINVAL, "pm_sim_start: unknown flags 0x%x",
			      o->flags & ~PM_SIM_VALID);
	return 0;
}

static uint64_t pick_seed(uint64_t seed)
{
	const char *v = pm_getenv("PM_SIM_SEED");
	struct timespec ts;

	if (seed)
		return seed;
	if (v && *v) {
		seed = strtoull(v, NULL, 0);
		if (seed)
			return seed;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (uint64_t)ts.tv_sec * 1000000007ULL + (uint64_t)ts.tv_nsec;
	return seed ? seed : 1;
}

/* Free a session that is not (or no longer) recording. */
static void sim_release(struct pm_sim *s)
{
	pthread_mutex_destroy(&s->lock);
	pm_free(s->trace);
	pm_free(s->pend);
	pm_free(s->dur);
	pm_free(s->dur_seq);
	pm_free(s->d0);
	pm_free(s->path);
	pm_free(s);
}

static int sim_new(const char *path, const struct pm_sim_opts *o,
		   struct pm_sim **simp)
{
	struct pm_sim *s = pm_zalloc(sizeof(*s));
	size_t size;
	int ret;

	if (!s)
		return pm_err(-ENOMEM, "pm_sim_start: out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->flags = o->flags;
	s->max_exhaustive = o->max_exhaustive ? o->max_exhaustive : 4096;
	s->max_samples = o->max_samples ? o->max_samples : 64;
	s->seed = pick_seed(o->seed);
	s->path = pm_strdup(path);
	ret = s->path ? read_file(path, &s->d0, &size) : -ENOMEM;
	if (!ret && size) {
		s->size0 = size;
		ret = grow(s, size);
		if (!ret)
			memcpy(s->dur, s->d0, size);
		s->tlen = 0; /* D0 is the starting point, not an event */
	}
	if (ret) {
		/* not pm_sim_free(): our caller holds active_lock */
		sim_release(s);
		return ret == -ENOMEM ?
			       pm_err(ret, "pm_sim_start: out of memory") :
			       ret;
	}
	*simp = s;
	return 0;
}

/**
 * pm_sim_start - start recording the mappings of a file
 * @path: the file; it need not exist yet (e.g. before pm_pool_create())
 * @opts: NULL for defaults
 * @simp: the session, for pm_sim_stop(), pm_sim_explore(), pm_sim_free()
 *
 * The file's contents now are taken as durable.  Every writable mapping of
 * @path made by this process until pm_sim_stop() is recorded.  One session
 * at a time.
 *
 * Return: 0, -EINVAL, -EBUSY (a session is recording), -ENOMEM, or the
 * error reading @path.
 */
PM_EXPORT int pm_sim_start(const char *path, const struct pm_sim_opts *opts,
			   struct pm_sim **simp)
{
	struct pm_sim_opts o;
	struct pm_sim *s = NULL;
	int ret;

	if (!path || !simp)
		return pm_err(-EINVAL, "pm_sim_start: NULL argument");
	ret = opts_get(opts, &o);
	if (ret)
		return ret;
	pthread_mutex_lock(&active_lock);
	if (pm_sim_active) {
		pthread_mutex_unlock(&active_lock);
		return pm_err(-EBUSY, "pm_sim_start: %s is being recorded",
			      pm_sim_active->path);
	}
	ret = sim_new(path, &o, &s);
	if (!ret) {
		__atomic_store_n(&pm_sim_active, s, __ATOMIC_RELEASE);
		pm_map_watch_set(&sim_watch);
		*simp = s;
	}
	pthread_mutex_unlock(&active_lock);
	return ret;
}

/**
 * pm_sim_points - number of crash points recorded so far
 * @sim: the session
 *
 * An operation that returned while this was n must survive a crash at
 * every point >= n; one that had not started when it was n must not be
 * visible at points < n.
 *
 * Return: the count (0 for NULL).
 */
PM_EXPORT uint64_t pm_sim_points(const struct pm_sim *sim)
{
	return sim ? __atomic_load_n(&sim->npoints, __ATOMIC_ACQUIRE) : 0;
}

/**
 * pm_sim_seed - the seed that sampling uses
 * @sim: the session
 *
 * Give it back through opts->seed or PM_SIM_SEED to reproduce a run.
 *
 * Return: the seed (0 for NULL).
 */
PM_EXPORT uint64_t pm_sim_seed(const struct pm_sim *sim)
{
	return sim ? sim->seed : 0;
}

/**
 * pm_sim_stop - stop recording
 * @sim: the session; NULL does nothing
 *
 * Adds the last crash point (the end of the workload) and gives the
 * recorded mapping back its own persistence table.
 */
PM_EXPORT void pm_sim_stop(struct pm_sim *sim)
{
	uint8_t *buf;
	size_t size;

	if (!sim)
		return;
	pthread_mutex_lock(&active_lock);
	if (pm_sim_active != sim) {
		pthread_mutex_unlock(&active_lock);
		return;
	}
	pthread_mutex_lock(&sim->lock);
	if (sim->map) {
		point(sim, PM_SIM_END, sim->map->addr, sim->map->size);
		sim->map->ops = sim->real;
		sim->map->sim = NULL;
		sim->map = NULL;
	} else if (read_file(sim->path, &buf, &size) == 0) {
		point(sim, PM_SIM_END, buf, size);
		pm_free(buf);
	}
	pthread_mutex_unlock(&sim->lock);
	pm_map_watch_set(NULL);
	__atomic_store_n(&pm_sim_active, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&active_lock);
}

/**
 * pm_sim_free - stop recording if needed and free the session
 * @sim: the session; NULL does nothing
 */
PM_EXPORT void pm_sim_free(struct pm_sim *sim)
{
	if (!sim)
		return;
	pm_sim_stop(sim);
	sim_release(sim);
}
