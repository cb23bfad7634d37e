/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bbmap.c - the bad-block map of a pool: which structure each bad range
 * hits (header copy, lane, log area, user data), the open policy, and
 * clearing a range of a pool file (pm_badblocks_clear(): what it loses,
 * what it rebuilds).  The device-level lists and the clear itself are
 * badblocks.c's.
 *
 * Invariant: a pool whose metadata is on a bad block with no stand-in is
 * not opened unless the caller says so; a header copy is only ever
 * rewritten from a copy that validates, whole, and fsynced before the
 * clear returns.  Headers of a pool that is not open are read with
 * pread(), so a bad block costs -EIO, never a signal.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "badblocks.h"
#include "bbmap.h"
#include "internal.h"
#include "map.h"
#include "os.h"
#include "pool.h"
#include "safe.h"

/* ---- pool structures -------------------------------------------------- */

struct pbb_list {
	struct pm_pool_badblock *v;
	size_t n;
	size_t cap;
};

static int pbb_add(struct pbb_list *l, uint64_t off, uint64_t len,
		   enum pm_area area, unsigned lane)
{
	void *v = pm_grow(l->v, &l->cap, l->n, sizeof(*l->v), 8);

	if (!v)
		return pm_err(-ENOMEM,
			      "bad-block list of %zu ranges: "
			      "out of memory",
			      l->n + 1);
	l->v = v;
	l->v[l->n++] = (struct pm_pool_badblock){ off, len, area, lane };
	return 0;
}

/* The structure at file offset @pos and the offset where it ends. */
static enum pm_area area_at(const struct pm_pool *p, uint64_t pos,
			    unsigned *lane, uint64_t *end)
{
	uint64_t lanes_end = p->lanes_off + (uint64_t)p->nlanes * p->lane_size;

	*lane = 0;
	if (pos < PM_HDR_A_OFF + PM_HDR_SIZE)
		return *end = PM_HDR_A_OFF + PM_HDR_SIZE, PM_AREA_HEADER_A;
	if (pos < PM_HDR_B_OFF + PM_HDR_SIZE)
		return *end = PM_HDR_B_OFF + PM_HDR_SIZE, PM_AREA_HEADER_B;
	if (pos >= p->lanes_off && pos < lanes_end) {
		*lane = (unsigned)((pos - p->lanes_off) / p->lane_size);
		*end = p->lanes_off + (*lane + 1ULL) * p->lane_size;
		return PM_AREA_LANES;
	}
	if (p->log_size && pos >= p->log_off && pos - p->log_off < p->log_size)
		return *end = p->log_off + p->log_size, PM_AREA_LOG;
	if (pos >= p->data_off && pos - p->data_off < p->data_size)
		return *end = p->data_off + p->data_size, PM_AREA_DATA;
	*end = UINT64_MAX;
	if (p->log_size && pos < p->log_off)
		*end = p->log_off;
	else if (pos < p->data_off)
		*end = p->data_off;
	else if (pos < p->pool_size)
		*end = p->pool_size;
	return PM_AREA_NONE;
}

static int classify(const struct pm_pool *pool, const struct pm_bb_list *l,
		    struct pbb_list *out)
{
	for (size_t i = 0; i < l->n; i++) {
		uint64_t pos = l->v[i].offset;
		uint64_t end = pos + l->v[i].length;

		while (pos < end) {
			unsigned lane;
			uint64_t aend;
			enum pm_area a = area_at(pool, pos, &lane, &aend);
			uint64_t e = PM_MIN(aend, end);
			int ret = pbb_add(out, pos, e - pos, a, lane);

			if (ret)
				return ret;
			pos = e;
		}
	}
	return 0;
}

/**
 * pm_area_name - the name of a pool area, as reports and tools print it
 * @a: an area of a pool
 *
 * Return: "header A", "header B", "lanes", "log", "data", "none", or
 * "unknown" for a value outside enum pm_area; a static string.
 */
PM_EXPORT const char *pm_area_name(enum pm_area a)
{
	static const char *const names[] = {
		[PM_AREA_HEADER_A] = "header A",
		[PM_AREA_HEADER_B] = "header B",
		[PM_AREA_LANES] = "lanes",
		[PM_AREA_LOG] = "log",
		[PM_AREA_DATA] = "data",
		[PM_AREA_NONE] = "none",
	};

	return (unsigned)a < PM_ARRAY_SIZE(names) ? names[a] : "unknown";
}

/* "lane 3 [0x5000, +0x1000), ..." for the entries whose area is in
 * @mask, as much as fits in @buf. */
static void describe(const struct pbb_list *l, unsigned mask, char *buf,
		     size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && o < len; i++) {
		const struct pm_pool_badblock *b = &l->v[i];
		char lane[16] = "";

		if (!(mask & (1U << b->area)))
			continue;
		if (b->area == PM_AREA_LANES)
			snprintf(lane, sizeof(lane), " %u", b->lane);
		o += (size_t)snprintf(buf + o, len - o,
				      "%s%s%s [%#llx, +%#llx)", o ? ", " : "",
				      pm_area_name(b->area), lane,
				      (unsigned long long)b->offset,
				      (unsigned long long)b->length);
	}
}

#define BIT(a) (1U << (a))
#define META_MASK (BIT(PM_AREA_LANES) | BIT(PM_AREA_LOG))
#define HDR_MASK (BIT(PM_AREA_HEADER_A) | BIT(PM_AREA_HEADER_B))

/*
 * Recovery reads lanes and the log straight from the mapping: a listed
 * range there that really faults would kill the process, whatever the
 * caller said.  Read each such range through pm_safe_copy() first; 0 if
 * all read, else PM_E_BADBLOCKS naming the first that does not.
 */
static const char *lane_no(const struct pm_pool_badblock *b, char *buf,
			   size_t len)
{
	buf[0] = '\0';
	if (b->area == PM_AREA_LANES)
		snprintf(buf, len, " %u", b->lane);
	return buf;
}

static int probe_metadata(const struct pm_pool *pool, const struct pbb_list *l)
{
	uint8_t buf[512];
	char lane[16];

	for (size_t i = 0; i < l->n; i++) {
		const struct pm_pool_badblock *b = &l->v[i];

		if (!(META_MASK & BIT(b->area)) ||
		    !pm_range_ok(b->offset, b->length, pool->map->size))
			continue;
		for (uint64_t o = 0; o < b->length; o += sizeof(buf)) {
			size_t n = (size_t)PM_MIN(sizeof(buf), b->length - o);
			int ret = pm_safe_copy(buf, pool->base + b->offset + o,
					       n);

			if (ret == -EIO)
				return pm_err(PM_E_BADBLOCKS,
					      "%s: %s%s [%#llx, "
					      "+%#llx) is on a bad block that "
					      "cannot be read: recovery cannot "
					      "run; 'pmtool badblocks clear' "
					      "or 'pmck --repair' replaces it "
					      "(its contents are lost)",
					      pool->path, pm_area_name(b->area),
					      lane_no(b, lane, sizeof(lane)),
					      (unsigned long long)b->offset,
					      (unsigned long long)b->length);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Metadata with no stand-in (both header copies, a lane, the log area)
 * refuses the open unless PM_POOL_IGNORE_BADBLOCKS, and even then if
 * lanes or log cannot really be read; one header copy is covered by the
 * other; user data only warns.
 */
static int open_policy(const struct pm_pool *pool, const struct pbb_list *l)
{
	unsigned hit = 0;
	char buf[400];
	int ret;

	for (size_t i = 0; i < l->n; i++)
		hit |= BIT(l->v[i].area);
	if ((hit & META_MASK) || (hit & HDR_MASK) == HDR_MASK) {
		describe(l, META_MASK | HDR_MASK, buf, sizeof(buf));
		if (!(pool->flags & PM_POOL_IGNORE_BADBLOCKS))
			return pm_err(PM_E_BADBLOCKS,
				      "%s: bad blocks in pool "
				      "metadata: %s; 'pmtool badblocks clear' "
				      "replaces them (their contents are "
				      "lost)",
				      pool->path, buf);
		ret = probe_metadata(pool, l);
		if (ret)
			return ret;
		pm_warn("%s: opened with bad blocks in metadata: %s",
			pool->path, buf);
	} else if (hit & HDR_MASK) {
		pm_warn("%s: header %c is on a bad block, header %c stands in",
			pool->path, hit & BIT(PM_AREA_HEADER_A) ? 'A' : 'B',
			hit & BIT(PM_AREA_HEADER_A) ? 'B' : 'A');
	}
	if (hit & BIT(PM_AREA_DATA)) {
		describe(l, BIT(PM_AREA_DATA), buf, sizeof(buf));
		pm_warn("%s: bad blocks in user data (reads there fail): %s",
			pool->path, buf);
	}
	return 0;
}

int pm_bb_pool_open(struct pm_pool *pool)
{
	struct pm_bb_list l = { 0 };
	struct pbb_list out = { 0 };
	int ret = pm_bb_fd(pool->map->fd, &l);

	pool->bb_status = ret;
	if (ret) {
		pm_bb_list_free(&l);
		if (ret == -ENOMEM)
			return ret;
		if (ret != -ENOTSUP)
			pm_warn("%s: bad blocks could not be listed: %s",
				pool->path, pm_strerror(ret));
		return 0;
	}
	ret = classify(pool, &l, &out);
	pm_bb_list_free(&l);
	pool->bbs = out.v;
	pool->nbbs = out.n;
	for (size_t i = 0; i < out.n; i++)
		if (out.v[i].area == PM_AREA_HEADER_A ||
		    out.v[i].area == PM_AREA_HEADER_B)
			pool->hdr_bad |= 1U << out.v[i].area;
	return ret ? ret : open_policy(pool, &out);
}

/* ---- pools from a path (not open) ------------------------------------- */

static const uint64_t hdr_offs[2] = { PM_HDR_A_OFF, PM_HDR_B_OFF };

/* Which header copies (bit 0: A, bit 1: B) ranges of @l cover. */
static unsigned hdrs_listed(const struct pm_bb_list *l)
{
	unsigned m = 0;

	for (size_t i = 0; i < l->n; i++)
		for (int c = 0; c < 2; c++)
			if (l->v[i].offset < hdr_offs[c] + PM_HDR_SIZE &&
			    l->v[i].offset + l->v[i].length > hdr_offs[c])
				m |= 1U << c;
	return m;
}

/*
 * Read both header copies with pread (a bad block gives EIO, not SIGBUS)
 * and choose the copy open would (pm_hdr_pick()).  @ok[i]: copy i valid.
 * A copy that is not valid and either fails to read (EIO) or is in
 * @listed (bit 0: A, bit 1: B; on the file's bad-block list) is
 * unreadable: nothing says whether it was a pool header.  Return the
 * chosen index; PM_E_BADBLOCKS if both copies are unreadable (the file
 * may be a pool whose headers are lost); PM_E_CORRUPT if a copy has the
 * magic but none is valid; else PM_E_NOT_POOL.
 */
static uint64_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_size;
}

/* pread() of a header copy, or a SIGBUS-safe copy from @dax, a read-only
 * mapping of a device-dax device (which has no read(2)). */
static ssize_t hdr_read(int fd, const struct pm_map *dax, struct pm_hdr *h,
			uint64_t off)
{
	if (!dax)
		return pread(fd, h, sizeof(*h), (off_t)off);
	if (off + sizeof(*h) > dax->size)
		return 0;
	if (pm_read_safe(dax, h, dax->addr + off, sizeof(*h))) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)sizeof(*h);
}

static int read_headers(int fd, const struct pm_map *dax, unsigned listed,
			struct pm_hdr h[2], int ok[2])
{
	int st[2] = { PM_E_NOT_POOL, PM_E_NOT_POOL }, best;
	uint64_t fsize = dax ? dax->size : file_size(fd);
	unsigned unreadable = 0;
	const char *why;

	for (int i = 0; i < 2; i++) {
		ssize_t n = hdr_read(fd, dax, &h[i], hdr_offs[i]);

		if (n == (ssize_t)sizeof(h[i]))
			st[i] = pm_hdr_check(&h[i], fsize, &why);
		else if (n < 0 && errno == EIO)
			unreadable |= 1U << i;
		ok[i] = st[i] == 0;
		if (!ok[i] && (listed & (1U << i)))
			unreadable |= 1U << i;
	}
	best = pm_hdr_pick(h, st);
	if (best >= 0)
		return best;
	if (unreadable == 3)
		return PM_E_BADBLOCKS;
	return st[0] == PM_E_NOT_POOL && st[1] == PM_E_NOT_POOL ?
		       PM_E_NOT_POOL :
		       PM_E_CORRUPT;
}

/*
 * What the file @fd is: PM_BB_POOL if a header copy has the pool magic;
 * PM_BB_POOL_HDRS_LOST if neither copy is valid and both are unreadable
 * (EIO, or on the file's bad-block list), so that it may be a pool whose
 * headers are lost; else PM_BB_NOT_POOL.  -ENOMEM if the file's bad
 * blocks could not be listed for want of memory.
 */
enum { PM_BB_NOT_POOL, PM_BB_POOL, PM_BB_POOL_HDRS_LOST };

static int pool_probe(int fd)
{
	struct pm_bb_list l = { 0 };
	struct pm_hdr h[2];
	int ok[2], ret;

	ret = pm_bb_fd(fd, &l);
	if (ret != -ENOMEM) /* other errors: no list, as at open */
		ret = read_headers(fd, NULL, ret ? 0 : hdrs_listed(&l), h, ok);
	pm_bb_list_free(&l);
	if (ret == -ENOMEM)
		return ret;
	if (ret == PM_E_BADBLOCKS)
		return PM_BB_POOL_HDRS_LOST;
	return ret == PM_E_NOT_POOL ? PM_BB_NOT_POOL : PM_BB_POOL;
}

/* Before [off, +len) of a pool file is cleared: which structures will
 * lose their contents, into @buf ("" if none, or not a pool).  Allocates,
 * so that the clear and the header rebuild after it need not. */
static int pool_describe(int fd, uint64_t off, uint64_t len, char *buf,
			 size_t size)
{
	struct pm_bb_list l = { 0 };
	struct pbb_list out = { 0 };
	struct pm_pool geo;
	struct pm_hdr h[2];
	int ok[2], best, ret = 0;

	buf[0] = 0;
	best = read_headers(fd, NULL, 0, h, ok);
	if (best < 0)
		return 0;
	pm_pool_view(&geo, &h[best]);
	if (pm_bb_add(&l, off, len) || classify(&geo, &l, &out))
		ret = -ENOMEM; /* both said so in the log */
	else
		describe(&out, ~HDR_MASK, buf, size);
	pm_bb_list_free(&l);
	pm_free(out.v);
	return ret;
}

/*
 * A lane header on the cleared range now reads as zeros, which no slot
 * validates, and it stays so: its retired value is gone, and an empty
 * header would lower the pool's retire watermark (letting recovery replay
 * an entry of another lane over newer data) or hide committed entries
 * left in the ring.  Open refuses the pool until pmck --discard-damaged
 * drops what the lane held; say so.
 */
static void lanes_lost(const char *path, uint64_t off, uint64_t len,
		       const struct pm_hdr *h)
{
	struct pm_pool geo;

	pm_pool_view(&geo, h);
	for (unsigned i = 0; i < geo.nlanes; i++) {
		uint64_t at = geo.lanes_off + (uint64_t)i * geo.lane_size;

		if (off >= at + sizeof(struct pm_lane_hdr) || off + len <= at)
			continue;
		pm_warn("%s: lane %u's header is lost: the pool does not open "
			"until 'pmck --repair --discard-damaged' drops the "
			"lane's transactions",
			path, i);
	}
}

/* After [off, +len) of the file @fd was cleared: if it is (or, per
 * @was_pool from pool_probe(), was) a pool, rewrite a header copy in it
 * from the other and say what was lost (@lost, from pool_describe()).
 * PM_E_CORRUPT if no copy is valid; allocates nothing. */
static int pool_cleared(int fd, const char *path, uint64_t off, uint64_t len,
			int was_pool, const char *lost)
{
	struct pm_hdr h[2];
	int ok[2], best, ret;
	ssize_t w;

	best = read_headers(fd, NULL, 0, h, ok);
	if (best == PM_E_NOT_POOL && was_pool == PM_BB_NOT_POOL)
		return 0;
	if (best < 0 && was_pool == PM_BB_POOL_HDRS_LOST)
		return pm_err(PM_E_CORRUPT,
			      "%s: both pool header copies were "
			      "on bad blocks: the pool's headers are lost "
			      "(%#llx bytes cleared at %#llx), the file is no "
			      "longer a libpm pool",
			      path, (unsigned long long)len,
			      (unsigned long long)off);
	if (best < 0)
		return pm_err(PM_E_CORRUPT,
			      "%s: no valid pool header copy is "
			      "left to rebuild from",
			      path);
	for (int i = 0; i < 2; i++) {
		if (ok[i] || off >= hdr_offs[i] + PM_HDR_SIZE ||
		    off + len <= hdr_offs[i])
			continue;
		w = pm_os_pwrite(fd, &h[best], sizeof(h[best]),
				 (off_t)hdr_offs[i]);
		ret = w < 0			    ? (int)w :
		      w != (ssize_t)sizeof(h[best]) ? -EIO :
						      pm_os_fsync(fd);
		if (ret)
			return pm_err(ret, "%s: rewriting header %c: %s", path,
				      'A' + i, pm_strerror(ret));
		pm_warn("%s: header %c rebuilt from header %c", path, 'A' + i,
			'A' + best);
	}
	lanes_lost(path, off, len, &h[best]);
	if (lost[0])
		pm_warn("%s: lost (now zero): %s", path, lost);
	return 0;
}

/* Clear @bb of the file @fd: what it means to a pool is settled first
 * (everything that can run out of memory), then the blocks are replaced,
 * then a header copy in them is rebuilt. */
static int clear_fd(int fd, const char *path, const struct pm_badblock *bb)
{
	uint64_t off, len;
	char lost[400];
	int ret, pool;

	ret = pm_bb_clear_span(fd, path, bb, &off, &len);
	if (ret)
		return ret;
	pool = pool_probe(fd);
	if (pool < 0)
		return pool;
	ret = pool_describe(fd, off, len, lost, sizeof(lost));
	if (!ret)
		ret = pm_bb_clear_range(fd, path, off, len);
	if (ret)
		return ret;
	return pool_cleared(fd, path, off, len, pool, lost);
}

/**
 * pm_badblocks_clear - give a bad range of a file fresh blocks
 * @path: a file on a file system (not open as a pool)
 * @bb: the range, as listed by pm_badblocks_list(); rounded out to whole
 *	file system blocks
 *
 * The old contents of the blocks are lost; they read as zero afterwards.
 * If @path is a libpm pool and a header copy was in the range, it is
 * rewritten from the other copy.  What was lost is logged (PM_LOG_WARN).
 *
 * Return: 0, -EBUSY if the pool is open, -ENOTSUP for device-dax,
 * PM_E_CORRUPT if a header copy could not be rebuilt, or -errno.
 */
PM_EXPORT int pm_badblocks_clear(const char *path, const struct pm_badblock *bb)
{
	uint64_t end;
	int fd, ret;

	if (!path || !bb || !bb->length ||
	    pm_add_overflows(bb->offset, bb->length, &end) ||
	    end > (uint64_t)INT64_MAX)
		return pm_err(-EINVAL, "pm_badblocks_clear: bad argument");
	fd = pm_os_open_file(path, O_RDWR, 0, PM_OS_DEV);
	if (fd < 0)
		return fd;
	ret = clear_fd(fd, path, bb);
	close(fd);
	return ret;
}

/**
 * pm_pool_badblocks_list - bad ranges of a pool file and what they hit
 * @path: a pool file (need not be openable)
 * @bbs: set to an array to be freed with pm_pool_badblocks_free()
 * @nbbs: set to the number of entries
 *
 * The pool is not opened or mapped: its headers are read with pread()
 * (device-dax, which has no read(2): copied from a read-only mapping with
 * pm_read_safe()), so a header on a bad block costs an error, not a
 * signal.  A range that
 * spans structures is split at their borders.  When both header copies
 * are on bad blocks and neither reads as valid, the file is taken for a
 * pool whose headers are lost: the ranges there are "header A" and
 * "header B", the rest PM_AREA_NONE (the geometry is unknown).
 *
 * Return: 0, -ENOTSUP if the device cannot report bad blocks,
 * PM_E_NOT_POOL if no header copy has the pool magic (and not both are
 * on bad blocks), PM_E_CORRUPT if a copy has the magic but none is
 * valid, or -errno.
 */
PM_EXPORT int pm_pool_badblocks_list(const char *path,
				     struct pm_pool_badblock **bbs,
				     size_t *nbbs)
{
	struct pm_bb_list l = { 0 };
	struct pbb_list out = { 0 };
	struct pm_map *dax = NULL;
	struct pm_pool geo;
	struct pm_hdr h[2];
	struct stat st;
	int fd, ok[2], ret, lret;

	if (!path || !bbs || !nbbs)
		return pm_err(-EINVAL, "pm_pool_badblocks_list: NULL argument");
	*bbs = NULL;
	*nbbs = 0;
	fd = pm_os_open_file(path, O_RDONLY, 0, PM_OS_DEV);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		ret = pm_err(-errno, "%s: stat: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	lret = pm_bb_fd(fd, &l);
	ret = S_ISCHR(st.st_mode) ?
		      pm_map_file(path, 0, PM_MAP_READONLY, &dax) :
		      0;
	if (!ret)
		ret = read_headers(fd, dax, lret ? 0 : hdrs_listed(&l), h, ok);
	pm_unmap(dax);
	if (lret == -ENOMEM) {
		ret = lret;
	} else if (ret >= 0) {
		pm_pool_view(&geo, &h[ret]);
		ret = lret;
	} else if (ret == PM_E_BADBLOCKS) {
		/* only the header copies' places are known */
		memset(&geo, 0, sizeof(geo));
		pm_warn("%s: both pool header copies are on bad blocks: the "
			"pool cannot be opened, and clearing them loses it",
			path);
		ret = lret;
	} else {
		ret = pm_err(ret, "%s: %s", path, pm_strerror(ret));
	}
	if (!ret)
		ret = classify(&geo, &l, &out);
	close(fd);
	pm_bb_list_free(&l);
	if (ret) {
		pm_free(out.v);
		return ret;
	}
	*bbs = out.v;
	*nbbs = out.n;
	return 0;
}

/**
 * pm_pool_badblocks_free - free a list from pm_pool_badblocks_list()
 * @bbs: the list, or NULL
 */
PM_EXPORT void pm_pool_badblocks_free(struct pm_pool_badblock *bbs)
{
	pm_free(bbs);
}
