/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * open.c - create, open and close a pool file: the one place that runs
 * the modules' hooks (lanes and transactions, log, bad blocks, unsafe-
 * shutdown record) in order, and undoes them in reverse.
 *
 * Invariant: create persists the lanes and the log area before either
 * header copy (header B, then A: pool.c), so a file cut short during
 * create is "not a pool".  Open boots a module only after everything it
 * reads has been checked: the header, then the bad blocks, then the
 * unsafe-shutdown record (dirty = 1 durable before the pool is used),
 * then lanes and the log.  Close undoes that in reverse and clears the
 * dirty flag last.  pm_pool_info() lives here too: it asks the lanes for
 * the next seq.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bbmap.h"
#include "halloc.h"
#include "heap.h"
#include "log.h"
#include "open.h"
#include "os.h"
#include "pool.h"
#include "txrecov.h"
#include "usc.h"

static uint64_t pool_ids;

/* ---- geometry at create ------------------------------------------------ */

struct geom {
	uint64_t lane_size, lanes_end, log_off, log_size, data_off;
	unsigned nlanes;
};

static uint64_t pow2_floor(uint64_t v)
{
	return v ? 1ULL << (63 - __builtin_clzll(v)) : 0;
}

/* Defaults: lanes of size/8192 from 32 KiB to 4 MiB, as many as take at
 * most 1/32 of the pool, 4 to 64 of them: 8 MiB gets 8 lanes of 32 KiB,
 * 64 MiB and above 64 lanes, taking 1/128 of the pool from 256 MiB to
 * 32 GiB.  Lanes are log space the heap cannot use, so they stay small; a
 * bigger transaction or more threads in transactions at once than lanes
 * take nlanes and lane_size at create. */
static void default_geom(uint64_t size, struct geom *g)
{
	if (!g->lane_size)
		g->lane_size = PM_MIN(PM_MAX(pow2_floor(size / 8192),
					     32ULL << 10),
				      4ULL << 20);
	if (!g->nlanes)
		g->nlanes = (unsigned)PM_MIN(PM_MAX(size / (32 * g->lane_size),
						    4),
					     64);
}

static int make_geom(const char *path, uint64_t size,
		     const struct pm_pool_opts *o, struct geom *g)
{
	uint64_t end;

	memset(g, 0, sizeof(*g));
	if (size > (1ULL << 50))
		return pm_err(-EINVAL, "%s: pool size %llu too large", path,
			      (unsigned long long)size);
	g->nlanes = o->nlanes;
	g->lane_size = o->lane_size;
	default_geom(size, g);
	if (g->nlanes > PM_LANES_MAX)
		return pm_err(-EINVAL, "%s: nlanes %u above %u", path,
			      g->nlanes, PM_LANES_MAX);
	if (g->lane_size < PM_LANE_SIZE_MIN ||
	    g->lane_size > PM_LANE_SIZE_MAX || g->lane_size % PM_LANE_ALIGN)
		return pm_err(-EINVAL,
			      "%s: lane_size %llu must be a multiple of %d "
			      "in [%d, %llu]",
			      path, (unsigned long long)g->lane_size,
			      PM_LANE_ALIGN, PM_LANE_SIZE_MIN,
			      PM_LANE_SIZE_MAX);
	g->lanes_end = PM_LANES_OFF + g->nlanes * g->lane_size;
	end = PM_ALIGN_UP(g->lanes_end, (uint64_t)PM_AREA_ALIGN);
	if (o->log_size) {
		if (o->log_size > size)
			return pm_err(-EINVAL, "%s: log_size %zu exceeds pool",
				      path, o->log_size);
		g->log_off = end;
		g->log_size = PM_ALIGN_UP((uint64_t)o->log_size,
					  (uint64_t)PM_AREA_ALIGN);
		end += g->log_size;
	}
	g->data_off = end;
	if (size < g->data_off + PM_AREA_ALIGN)
		return pm_err(-EINVAL,
			      "%s: pool size %llu too small: %u lanes of %llu "
			      "bytes and the log need %llu",
			      path, (unsigned long long)size, g->nlanes,
			      (unsigned long long)g->lane_size,
			      (unsigned long long)g->data_off + PM_AREA_ALIGN);
	return 0;
}

/* Read the fields of @in that lie inside in->sz; reject unknown non-zero
 * bytes past the fields this version knows. */
static int opts_get(const struct pm_pool_opts *in, struct pm_pool_opts *out)
{
	const unsigned char *b = (const unsigned char *)in;

	memset(out, 0, sizeof(*out));
	if (!in)
		return 0;
	if (in->sz < sizeof(in->sz))
		return pm_err(-EINVAL, "pm_pool_opts: sz %zu too small",
			      in->sz);
	for (size_t i = sizeof(*out); i < in->sz; i++)
		if (b[i])
			return pm_err(-EINVAL,
				      "pm_pool_opts: unknown non-zero byte at "
				      "offset %zu (newer library?)",
				      i);
#define OPT(f)                                                                 \
	if (offsetof(struct pm_pool_opts, f) + sizeof(in->f) <= in->sz)        \
		out->f = in->f;
	OPT(layout)
	OPT(nlanes)
	OPT(lane_size)
	OPT(log_size)
	OPT(flags)
	OPT(mode)
#undef OPT
	out->sz = sizeof(*out);
	return 0;
}

static void hdr_init(struct pm_hdr *h, uint64_t size, const char *layout,
		     const struct geom *g)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PM_POOL_MAGIC, sizeof(h->magic));
	h->version = pm_le32(PM_POOL_VERSION);
	h->hdr_size = pm_le32(sizeof(*h));
	if (getrandom(h->uuid, sizeof(h->uuid), 0) != sizeof(h->uuid)) {
		/* No entropy source: time and address still differ per pool. */
		uint64_t t = (uint64_t)time(NULL) ^ (uintptr_t)h,
			 c = ++pool_ids;

		memcpy(h->uuid, &t, 8);
		memcpy(h->uuid + 8, &c, 8);
	}
	h->uuid[6] = (h->uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
	h->uuid[8] = (h->uuid[8] & 0x3f) | 0x80;
	if (layout)
		memcpy(h->layout, layout, strlen(layout));
	h->pool_size = pm_le64(size);
	h->create_time = pm_le64((uint64_t)time(NULL));
	h->lanes_off = pm_le64(PM_LANES_OFF);
	h->lane_size = pm_le64(g->lane_size);
	h->nlanes = pm_le32(g->nlanes);
	h->log_off = pm_le64(g->log_off);
	h->log_size = pm_le64(g->log_size);
	h->data_off = pm_le64(g->data_off);
	h->data_size = pm_le64(size - g->data_off);
}

static int lock_file(struct pm_pool *pool)
{
	int ret = pm_os_flock(pool->map->fd, LOCK_EX | LOCK_NB);

	if (ret == -EWOULDBLOCK)
		return pm_err(-EBUSY, "%s: pool is open elsewhere (locked)",
			      pool->path);
	if (ret)
		return pm_err(ret, "%s: flock: %s", pool->path,
			      pm_strerror(ret));
	return 0;
}

static int pool_new(const char *path, unsigned flags, struct pm_pool **pp)
{
	struct pm_pool *pool = pm_zalloc(sizeof(*pool));

	if (!pool)
		return pm_err(-ENOMEM, "%s: out of memory", path);
	pool->path = pm_strdup(path);
	if (!pool->path) {
		pm_free(pool);
		return pm_err(-ENOMEM, "%s: out of memory", path);
	}
	pool->flags = flags;
	pool->id = __atomic_add_fetch(&pool_ids, 1, __ATOMIC_RELAXED);
	*pp = pool;
	return 0;
}

static void pool_free(struct pm_pool *pool)
{
	pm_unmap(pool->map);
	pm_free(pool->bbs);
	pm_free(pool->path);
	pm_free(pool);
}

static int map_pool(struct pm_pool *pool, size_t size, unsigned mflags)
{
	int ret;

	if (pool->flags & PM_POOL_SYNC_REQUIRED)
		mflags |= PM_MAP_SYNC_REQUIRED;
	ret = pm_map_file(pool->path, size, mflags, &pool->map);
	if (ret)
		return ret;
	pool->base = pool->map->addr;
	return lock_file(pool);
}

/* Where the log lives, for the log's hooks. */
static void log_place(const struct pm_pool *pool, struct pm_log_place *p)
{
	*p = (struct pm_log_place){
		.map = pool->map,
		.base = pool->base,
		.off = pool->log_off,
		.size = pool->log_size,
		.seed = pool->seed,
		.flags = (pool->flags & PM_POOL_DISCARD) ? PM_LOG_DISCARD : 0,
		.path = pool->path,
	};
}

/* Judge the unsafe-shutdown record and, unless the platform cannot tell,
 * record the current count with the dirty flag set. */
static int usc_open(struct pm_pool *pool)
{
	struct pm_usc_rec rec;
	int ret = pm_usc_open(pool->map->fd, pool->path, pool->flags,
			      &pool->hdr, &pool->shutdown, &rec);

	pool->usc_armed = 0;
	if (ret <= 0)
		return ret;
	if (pool->hdr_bad) { /* pm_pool_hdr_write() would refuse */
		pm_warn("%s: a header copy is on a bad block: the unsafe-"
			"shutdown record is not updated",
			pool->path);
		return 0;
	}
	pm_usc_put(&pool->hdr, &rec);
	ret = pm_pool_hdr_write(pool);
	pool->usc_armed = !ret;
	return ret;
}

/* At close, last: clear the dirty flag if open set it. */
static void usc_close(struct pm_pool *pool)
{
	if (!pool->usc_armed)
		return;
	pool->hdr.dirty = 0;
	if (pm_pool_hdr_write(pool))
		pm_warn("%s: the dirty flag stays set: the next open compares "
			"the dirty-shutdown count",
			pool->path);
	pool->usc_armed = 0;
}

/* Boot the modules in order; on failure undo those that booted. */
static int pool_boot(struct pm_pool *pool)
{
	struct pm_log_place lp;
	int ret = pm_tx_boot(pool);

	if (ret)
		return ret;
	log_place(pool, &lp);
	ret = pm_log_boot(&lp, &pool->log);
	if (!ret && (pool->features & PM_HDR_F_HEAP)) {
		ret = pm_halloc_boot(pool);
		if (ret) {
			pm_log_shutdown(pool->log, pool->path);
			pool->log = NULL;
		}
	}
	if (ret)
		pm_tx_shutdown(pool);
	return ret;
}

/* ---- create ------------------------------------------------------------ */

static int create_check(const char *path, const struct pm_pool_opts *o,
			struct pm_pool **poolp)
{
	if (!path || !poolp)
		return pm_err(-EINVAL, "pm_pool_create: NULL argument");
	if (o->flags & ~PM_POOL_VALID)
		return pm_err(-EINVAL, "%s: unknown pool flags 0x%x", path,
			      o->flags & ~PM_POOL_VALID);
	if (o->layout && strlen(o->layout) >= PM_LAYOUT_MAX)
		return pm_err(-EINVAL, "%s: layout name longer than %d bytes",
			      path, PM_LAYOUT_MAX - 1);
	return 0;
}

static int create_format(struct pm_pool *pool, size_t size,
			 const struct pm_pool_opts *o, const struct geom *g)
{
	struct pm_log_place lp;
	int ret;

	if (o->mode && pool->map->created && fchmod(pool->map->fd, o->mode))
		return pm_err(-errno, "%s: chmod: %s", pool->path,
			      strerror(errno));
	hdr_init(&pool->hdr, size, o->layout, g);
	pool->hdr.flags = pm_le32(
		PM_HDR_F_REACH |
		((o->flags & PM_POOL_HEAP) ? PM_HDR_F_HEAP : 0));
	pm_pool_fill(pool);
	log_place(pool, &lp);
	ret = pm_tx_format(pool);
	if (!ret)
		ret = pm_log_format(&lp);
	if (!ret && (o->flags & PM_POOL_HEAP))
		ret = pm_heap_format(pool);
	if (ret)
		return ret;
	/* Header B, then A: a file cut short before B has no header. */
	pool->hdr.gen = 0;
	return pm_pool_hdr_write(pool);
}

/**
 * pm_pool_create - create a pool file
 * @path: file to create; it must not exist (or be a device-dax device
 *        whose first page is zero)
 * @size: total file size in bytes; 0 for all of a device-dax device
 *        (rounded down to its alignment)
 * @opts: layout name, lane geometry, log size, flags and mode, or NULL
 * @poolp: receives the open pool
 *
 * Return: 0, -EEXIST if @path exists (device-dax: holds data), -EIO if
 * a device-dax device's first page is unreadable (bad block), -ENOSPC
 * if a device-dax device is smaller than @size, -EINVAL for bad arguments,
 * a size not a multiple of a device-dax device's alignment, a size of 0
 * for anything but a device-dax device, or a size too small for the
 * geometry, PM_E_NOT_DAX, or another negative errno.
 */
PM_EXPORT int pm_pool_create(const char *path, size_t size,
			     const struct pm_pool_opts *opts,
			     struct pm_pool **poolp)
{
	struct pm_pool_opts o;
	struct pm_pool *pool;
	struct geom g;
	int ret = opts_get(opts, &o);

	if (!ret)
		ret = create_check(path, &o, poolp);
	if (!ret && size) /* else known once the device is mapped */
		ret = make_geom(path, size, &o, &g);
	if (!ret)
		ret = pool_new(path, o.flags, &pool);
	if (ret)
		return ret;
	ret = map_pool(pool, size, PM_MAP_CREATE | PM_MAP_EXCL);
	if (!ret && !size) {
		size = pool->map->size;
		ret = make_geom(path, size, &o, &g);
	}
	if (ret)
		goto err_unlink;
	ret = create_format(pool, size, &o, &g);
	if (!ret)
		ret = usc_open(pool);
	if (ret)
		goto err_unlink;
	ret = pool_boot(pool);
	if (ret)
		goto err_unlink;
	*poolp = pool;
	return 0;
err_unlink:
	/* pm_map_file() removes what it created on failure; a device-dax
	 * device is never removed */
	if (pool->map && pool->map->created)
		unlink(path);
	pool_free(pool);
	return ret;
}

/* ---- open -------------------------------------------------------------- */

/* A file too short for even one header is "not a pool" unless it starts
 * with our magic (then it is a pool cut short). */
static int short_file(const char *path, struct stat *st)
{
	char magic[8];
	int fd;

	if (st->st_size >= (off_t)sizeof(struct pm_hdr))
		return 0;
	fd = pm_os_open_file(path, O_RDONLY, 0, 0);
	if (fd < 0)
		return fd;
	if (pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	    !memcmp(magic, PM_POOL_MAGIC, sizeof(magic))) {
		close(fd);
		return pm_err(PM_E_TRUNCATED,
			      "%s: %lld bytes, shorter than a "
			      "pool header",
			      path, (long long)st->st_size);
	}
	close(fd);
	return pm_err(PM_E_NOT_POOL, "%s: %lld bytes, not a pool", path,
		      (long long)st->st_size);
}

static int open_check(const char *path, const char *layout, unsigned flags,
		      struct pm_pool **poolp)
{
	struct stat st;

	if (!path || !poolp)
		return pm_err(-EINVAL, "pm_pool_open: NULL argument");
	if (flags & ~PM_POOL_VALID)
		return pm_err(-EINVAL, "%s: unknown pool flags 0x%x", path,
			      flags & ~PM_POOL_VALID);
	if (layout && strlen(layout) >= PM_LAYOUT_MAX)
		return pm_err(-EINVAL, "%s: layout name longer than %d bytes",
			      path, PM_LAYOUT_MAX - 1);
	if (stat(path, &st))
		return pm_err(-errno, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode))
		return short_file(path, &st);
	return 0;
}

static int pool_open(const char *path, const char *layout, unsigned flags,
		     unsigned priv, struct pm_pool **poolp);

/**
 * pm_pool_open_layout - open a pool and check its layout name
 * @path: the pool file
 * @layout: the layout name the pool must have, or NULL for any
 * @flags: PM_POOL_SYNC_REQUIRED, PM_POOL_IGNORE_BADBLOCKS,
 *         PM_POOL_IGNORE_SHUTDOWN
 * @poolp: receives the open pool
 *
 * Recovers the header (one damaged copy is rewritten from the other) and
 * replays committed transactions that were not yet applied.
 *
 * Return: 0, -EBUSY if the pool is open elsewhere, PM_E_NOT_POOL,
 * PM_E_VERSION, PM_E_CORRUPT, PM_E_TRUNCATED, PM_E_LAYOUT, PM_E_NOT_DAX,
 * or another negative errno.
 */
PM_EXPORT int pm_pool_open_layout(const char *path, const char *layout,
				  unsigned flags, struct pm_pool **poolp)
{
	return pool_open(path, layout, flags, 0, poolp);
}

int pm_pool_open_discard(const char *path, unsigned flags,
			 struct pm_pool **poolp)
{
	return pool_open(path, NULL, flags, PM_POOL_DISCARD, poolp);
}

/* @priv: internal PM_POOL_* flags, which callers cannot pass. */
static int pool_open(const char *path, const char *layout, unsigned flags,
		     unsigned priv, struct pm_pool **poolp)
{
	struct pm_pool *pool;
	int ret = open_check(path, layout, flags, poolp);

	if (!ret)
		ret = pool_new(path, flags | priv, &pool);
	if (ret)
		return ret;
	ret = map_pool(pool, 0, 0);
	if (!ret)
		ret = pm_pool_hdr_load(pool, pool->map->size);
	if (ret)
		goto err;
	pm_pool_fill(pool);
	if (layout && strcmp(layout, pool->hdr.layout)) {
		ret = pm_err(PM_E_LAYOUT, "%s: layout is \"%s\", not \"%s\"",
			     path, pool->hdr.layout, layout);
		goto err;
	}
	ret = pm_bb_pool_open(pool);
	if (!ret)
		ret = usc_open(pool);
	if (!ret)
		ret = pool_boot(pool);
	if (ret)
		goto err;
	*poolp = pool;
	return 0;
err:
	pool_free(pool);
	return ret;
}

/**
 * pm_pool_open - open a pool file
 * @path: the pool file
 * @flags: PM_POOL_* flags (see pm_pool_open_layout())
 * @poolp: receives the open pool
 *
 * Return: as pm_pool_open_layout().
 */
PM_EXPORT int pm_pool_open(const char *path, unsigned flags,
			   struct pm_pool **poolp)
{
	return pm_pool_open_layout(path, NULL, flags, poolp);
}

/**
 * pm_pool_close - retire all transactions, unlock and unmap the pool
 * @pool: the pool, or NULL
 *
 * In a child process, on a handle its parent opened, it only frees and
 * unmaps: the pool file and its lock stay the parent's.
 */
PM_EXPORT void pm_pool_close(struct pm_pool *pool)
{
	if (!pool)
		return;
	/* Inherited over fork(): the file is the parent's to write. */
	if (pm_tx_forked(pool))
		pool->usc_armed = 0;
	pm_log_shutdown(pool->log, pool->path);
	pool->log = NULL;
	pm_tx_shutdown(pool);
	pm_heap_shutdown(pool);
	usc_close(pool);
	pool_free(pool);
}

/**
 * pm_pool_info - describe an open pool
 * @pool: the pool
 * @info: filled with geometry, mapping facts and what open found
 *
 * Return: 0 or -EINVAL.
 */
PM_EXPORT int pm_pool_info(struct pm_pool *pool, struct pm_pool_info *info)
{
	if (!pool || !info)
		return pm_err(-EINVAL, "pm_pool_info: NULL argument");
	memset(info, 0, sizeof(*info));
	info->version = pm_le32(pool->hdr.version);
	memcpy(info->uuid, pool->hdr.uuid, sizeof(info->uuid));
	memcpy(info->layout, pool->hdr.layout, sizeof(info->layout));
	info->pool_size = pool->pool_size;
	info->data_offset = pool->data_off;
	info->data_size = pool->data_size;
	info->lanes_offset = pool->lanes_off;
	info->lane_size = pool->lane_size;
	info->nlanes = pool->nlanes;
	info->log_offset = pool->log_off;
	info->log_size = pool->log_size;
	info->create_time = pm_le64(pool->hdr.create_time);
	pm_map_get_info(pool->map, &info->map);
	info->header_repaired = pool->header_repaired;
	info->tx_replayed = pool->tx_replayed;
	info->next_seq = pm_tx_next_seq(pool);
	info->shutdown = pool->shutdown;
	info->badblocks_status = pool->bb_status;
	info->nbadblocks = pool->nbbs;
	info->badblocks = pool->bbs;
	return 0;
}
