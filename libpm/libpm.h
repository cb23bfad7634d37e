/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libpm.h - crash-consistent persistent memory for applications.
 *
 * One public header.  Every fallible call returns 0 or a negative errno
 * (or a PM_E_* code below -100000 for what errno cannot say);
 * pm_strerror() names both and the log callback gets the details.
 * Destructors take NULL and return nothing.  Handles are opaque.
 */
#ifndef LIBPM_H
#define LIBPM_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PM_VERSION_MAJOR 1
#define PM_VERSION_MINOR 2

const char *pm_version(void);

/* ---- errors and messages ---------------------------------------------- */

#define PM_E_BASE (-100000)
#define PM_E_NOT_POOL (-100001)	 /* no libpm magic in either header copy */
#define PM_E_VERSION (-100002)	 /* pool format version not supported */
#define PM_E_CORRUPT (-100003)	 /* checksum or structure check failed */
#define PM_E_LAYOUT (-100004)	 /* layout name differs from the one asked */
#define PM_E_TRUNCATED (-100005) /* file shorter than its header says */
#define PM_E_NOT_DAX (-100006)	 /* MAP_SYNC required, file is not DAX */
/* bad blocks where open must read or write: metadata with no stand-in, or
 * the user data a committed transaction's replay writes; see pm_pool_open(3) */
#define PM_E_BADBLOCKS (-100007)
#define PM_E_UNSAFE_SHUTDOWN (-100008) /* possible ADR failure while open */
#define PM_E_NO_LOG (-100009)	       /* pool has no append-log area */
#define PM_E_TX_FAILED (-100010) /* transaction already failed: abort it */
#define PM_E_FORKED (-100011) /* handle opened by the parent of this process */
#define PM_E_LAST (-100011)

/* Human-readable name of an error code (negative errno or PM_E_*). */
const char *pm_strerror(int err);

#define PM_LOG_ERR 1
#define PM_LOG_WARN 2
#define PM_LOG_INFO 3
#define PM_LOG_DEBUG 4

/*
 * Messages (which field is bad, which range is lost) go to fn at or below
 * the level set by pm_set_log_level() or the PM_LOG environment variable
 * (err|warn|info|debug or 1..4).  fn == NULL restores the default, which
 * prints to stderr.  fn may run under libpm's own locks: it must not call
 * libpm.
 */
typedef void (*pm_log_fn)(int level, const char *msg, void *arg);
void pm_set_log_fn(pm_log_fn fn, void *arg);
void pm_set_log_level(int level);

/* ---- mapping and persistence ------------------------------------------ */

struct pm_map;

#define PM_MAP_CREATE (1U << 0)	       /* create the file if missing */
#define PM_MAP_EXCL (1U << 1)	       /* with CREATE: fail if it exists */
#define PM_MAP_SYNC_REQUIRED (1U << 2) /* fail unless MAP_SYNC (real DAX) */
#define PM_MAP_READONLY (1U << 3)      /* map read-only */
#define PM_MAP_VALID                                                           \
	(PM_MAP_CREATE | PM_MAP_EXCL | PM_MAP_SYNC_REQUIRED | PM_MAP_READONLY)

enum pm_granularity {
	PM_GRANULARITY_BYTE = 0,      /* eADR: stores are durable when done */
	PM_GRANULARITY_CACHELINE = 1, /* ADR: flush + fence */
	PM_GRANULARITY_PAGE = 2,      /* no DAX: msync */
};

/*
 * Maps @path.  size 0 maps the whole existing file; otherwise the file is
 * created (PM_MAP_CREATE) or grown to @size as needed.
 */
int pm_map_file(const char *path, size_t size, unsigned flags,
		struct pm_map **mapp);
void pm_unmap(struct pm_map *map);
void *pm_map_addr(const struct pm_map *map);
size_t pm_map_size(const struct pm_map *map);
enum pm_granularity pm_map_granularity(const struct pm_map *map);

/* A plain description of a mapping, filled by pm_map_get_info(). */
struct pm_map_info {
	enum pm_granularity granularity;
	int map_sync;		  /* 1 if MAP_SYNC succeeded */
	int forced;		  /* 1 if PM_FORCE_GRANULARITY chose it */
	const char *flush_method; /* "clwb", "msync", "none (eADR)", ... */
	const char *copy_method;  /* "avx512-nt", "avx-nt", "sse2-nt", ... */
	const char *fs_type;	  /* "ext4", "xfs", "tmpfs", ... */
	char device[32];	  /* "MAJ:MIN" of st_dev */
	size_t movnt_threshold;	  /* bytes; copies below it are temporal */
};
int pm_map_get_info(const struct pm_map *map, struct pm_map_info *info);

/* Flush + drain: 0 when the range is durable. */
int pm_persist(const struct pm_map *map, const void *addr, size_t len);
/* Write back without waiting; an error waits for the next drain. */
void pm_flush(const struct pm_map *map, const void *addr, size_t len);
/* Wait for the calling thread's flushes; their first error. */
int pm_drain(const struct pm_map *map);
/* pm_persist, then flush the nd regions' write queues (deep_flush). */
int pm_deep_flush(const struct pm_map *map, const void *addr, size_t len);

#define PM_MEM_NODRAIN (1U << 0)     /* leave the final fence to pm_drain */
#define PM_MEM_NONTEMPORAL (1U << 1) /* force non-temporal stores */
#define PM_MEM_TEMPORAL (1U << 2)    /* force cached stores + flush */
#define PM_MEM_NOFLUSH (1U << 3)     /* plain copy, no flush, no fence */
#define PM_MEM_VALID                                                           \
	(PM_MEM_NODRAIN | PM_MEM_NONTEMPORAL | PM_MEM_TEMPORAL | PM_MEM_NOFLUSH)

/* Copy into a mapping and make it durable (flags: PM_MEM_*). */
int pm_memcpy(const struct pm_map *map, void *dst, const void *src, size_t len,
	      unsigned flags);
/* Fill a range of a mapping and make it durable. */
int pm_memset(const struct pm_map *map, void *dst, int c, size_t len,
	      unsigned flags);

/* "clwb", "clflushopt", ...: the write-back this process uses. */
const char *pm_flush_method(void);

/* Per-thread counters; the fence count is a tested number. */
struct pm_stats {
	uint64_t flushes;	/* cache lines written back (PAGE: pages) */
	uint64_t fences;	/* sfence / dsb / msync waits */
	uint64_t bytes_flushed; /* bytes made durable by flush or msync */
	uint64_t bytes_nt;	/* bytes written with non-temporal stores */
	uint64_t msyncs;	/* msync calls */
};
/* The calling thread's counters (a cost is a difference). */
void pm_stats_get(struct pm_stats *st);
/* The calling thread's counters back to 0. */
void pm_stats_reset(void);

/* ---- pools -------------------------------------------------------------- */

struct pm_pool;

#define PM_LAYOUT_MAX 64 /* including the terminating NUL */

struct pm_pool_opts {
	size_t sz;	    /* sizeof(struct pm_pool_opts) */
	const char *layout; /* application's layout name, or NULL */
	unsigned nlanes;    /* transaction lanes; 0 = default */
	size_t lane_size;   /* bytes per lane; 0 = default */
	size_t log_size;    /* append-log area; 0 = no log */
	unsigned flags;	    /* PM_POOL_* */
	mode_t mode;	    /* file mode; 0 = 0644 */
};

#define PM_POOL_SYNC_REQUIRED (1U << 0) /* fail unless real DAX */
/* Open although listed bad blocks hit lanes, the log or both header copies,
 * provided each such range can still be read (else still PM_E_BADBLOCKS:
 * recovery must read it); the replay of a committed transaction into user
 * data on a bad block is refused all the same.  See pm_pool_open(3). */
#define PM_POOL_IGNORE_BADBLOCKS (1U << 1)
#define PM_POOL_IGNORE_SHUTDOWN (1U << 2) /* open after possible ADR loss */
/* Create: the data area is a heap (pm_tx_alloc()); pm_pool_data() is then
 * NULL.  Open: ignored (the pool says what it is). */
#define PM_POOL_HEAP (1U << 3)
#define PM_POOL_VALID                                                          \
	(PM_POOL_SYNC_REQUIRED | PM_POOL_IGNORE_BADBLOCKS |                    \
	 PM_POOL_IGNORE_SHUTDOWN | PM_POOL_HEAP)

int pm_pool_create(const char *path, size_t size,
		   const struct pm_pool_opts *opts, struct pm_pool **poolp);
int pm_pool_open(const char *path, unsigned flags, struct pm_pool **poolp);
/* As pm_pool_open(), and fail with PM_E_LAYOUT unless @layout matches. */
int pm_pool_open_layout(const char *path, const char *layout, unsigned flags,
			struct pm_pool **poolp);
void pm_pool_close(struct pm_pool *pool);
/* The user area; stores there are made durable through pm_tx_* or
 * pm_persist(pm_pool_map(pool), ...). */
void *pm_pool_data(struct pm_pool *pool, size_t *sizep);
struct pm_map *pm_pool_map(struct pm_pool *pool);

enum pm_area {
	PM_AREA_HEADER_A = 0,
	PM_AREA_HEADER_B = 1,
	PM_AREA_LANES = 2,
	PM_AREA_LOG = 3,
	PM_AREA_DATA = 4,
	PM_AREA_NONE = 5, /* past the pool's end, padding, or unknown (both
			   * header copies lost) */
};

/* "header A", "header B", "lanes", "log", "data", "none"; "unknown" for a
 * value outside the enum. */
const char *pm_area_name(enum pm_area a);

struct pm_badblock {
	uint64_t offset; /* bytes from the start of the file */
	uint64_t length; /* bytes */
};

/* A bad range within a pool and the structure it hits. */
struct pm_pool_badblock {
	uint64_t offset;
	uint64_t length;
	enum pm_area area;
	unsigned lane; /* for PM_AREA_LANES */
};

enum pm_shutdown_state {
	PM_SHUTDOWN_CLEAN = 0,	     /* counters unchanged */
	PM_SHUTDOWN_UNSUPPORTED = 1, /* platform cannot tell */
	PM_SHUTDOWN_DIRTY = 2,	     /* count changed while the pool was open */
	PM_SHUTDOWN_ERROR = 3,	     /* counters could not be read */
};

struct pm_pool_info {
	uint32_t version;
	uint8_t uuid[16];
	char layout[PM_LAYOUT_MAX];
	uint64_t pool_size;
	uint64_t data_offset, data_size;
	uint64_t lanes_offset, lane_size;
	unsigned nlanes;
	uint64_t log_offset, log_size; /* 0 if no log */
	uint64_t create_time;	       /* seconds since the epoch */
	struct pm_map_info map;
	unsigned header_repaired; /* header copy rewritten at open */
	uint64_t tx_replayed;	  /* transactions replayed at open */
	uint64_t next_seq;	  /* next transaction sequence number */
	enum pm_shutdown_state shutdown;
	int badblocks_status; /* 0, -ENOTSUP (device can't tell), -errno */
	size_t nbadblocks;
	const struct pm_pool_badblock *badblocks; /* valid until close */
};
int pm_pool_info(struct pm_pool *pool, struct pm_pool_info *info);

/* ---- checking ------------------------------------------------------------ */

#define PM_CHECK_REPAIR (1U << 0)  /* fix what can be fixed */
#define PM_CHECK_VERBOSE (1U << 1) /* also report what is fine */
/* With PM_CHECK_REPAIR: also repair damage that costs committed data (a
 * lane header lost, transactions cut off), dropping that data; each such
 * finding's repair says what was dropped (transactions, seqs, bytes). */
#define PM_CHECK_DISCARD_DAMAGED (1U << 2)
#define PM_CHECK_VALID                                                         \
	(PM_CHECK_REPAIR | PM_CHECK_VERBOSE | PM_CHECK_DISCARD_DAMAGED)

enum pm_check_severity {
	PM_CHECK_INFO = 0,	 /* verbose: a structure checked and fine */
	PM_CHECK_REPAIRABLE = 1, /* damage --repair can fix */
	PM_CHECK_FATAL = 2,	 /* damage that cannot be repaired */
};

struct pm_check_finding {
	enum pm_check_severity severity;
	enum pm_area area;
	const char *structure; /* "header A", "lane 3 entry 17", "log record" */
	uint64_t offset;       /* file offset of the damage */
	uint64_t length;
	const char *message; /* what is wrong */
	const char *repair;  /* what repair does (did) */
	int repaired;	     /* 1 once fixed */
};

/* Return non-zero from the callback to stop the check (it returns -ECANCELED). */
typedef int (*pm_check_cb)(const struct pm_check_finding *f, void *arg);

/*
 * Check (and with PM_CHECK_REPAIR repair) the pool file @path, which must
 * not be open.  A repair never drops committed data unless
 * PM_CHECK_DISCARD_DAMAGED says so; an area with a PM_CHECK_FATAL finding
 * is left as it is.  Return: 0 if the pool is consistent (clean or
 * repaired), PM_E_CORRUPT if damage remains, another negative code if it
 * could not be checked.
 */
int pm_pool_check(const char *path, unsigned flags, pm_check_cb cb, void *arg);

/* Bytes of the pool examined so far out of @total, as the check reads. */
typedef void (*pm_check_progress_fn)(uint64_t done, uint64_t total, void *arg);

struct pm_check_opts {
	size_t sz;	/* sizeof(struct pm_check_opts) */
	unsigned flags; /* PM_CHECK_* */
	pm_check_cb cb; /* once per finding; may be NULL */
	void *cb_arg;
	pm_check_progress_fn progress; /* may be NULL */
	void *progress_arg;
};

/* pm_pool_check() with its arguments in @opts, plus a progress callback
 * for the first (read-only) pass; the same return values. */
int pm_pool_check_opts(const char *path, const struct pm_check_opts *opts);

/* ---- transactions -------------------------------------------------------- */

struct pm_tx;

/*
 * Starts a transaction on a lane of its own, with @reserve bytes of log
 * space (payload) guaranteed.  One transaction per thread at a time.
 */
int pm_tx_begin(struct pm_pool *pool, size_t reserve, struct pm_tx **txp);
/* Stage a write of @len bytes of @src to @dst (inside the data area). */
int pm_tx_write(struct pm_tx *tx, void *dst, const void *src, size_t len);
/* Read @src as the transaction sees it (its own writes included). */
int pm_tx_read(struct pm_tx *tx, void *dst, const void *src, size_t len);
/* Make all staged writes durable atomically, then visible.  Ends @tx.
 * A failed msync of the entry undoes the commit (not applied, not
 * replayed), unless the undo fails too: outcome unknown, see
 * pm_tx_commit(3). */
int pm_tx_commit(struct pm_tx *tx);
/* Drop all staged writes.  Ends @tx. */
void pm_tx_abort(struct pm_tx *tx);
/* Make every transaction committed so far applied and durable, and
 * never replayed again: data they wrote may then be written directly
 * (pm_persist) without a crash putting their bytes back.  Three fences. */
int pm_tx_retire(struct pm_pool *pool);

/* ---- heap (a pool created with PM_POOL_HEAP) ------------------------------ */

/*
 * References are byte offsets from the pool's start (0 = none), valid
 * in every mapping of the pool.  Allocations and frees belong to a
 * transaction: an allocation is usable by it at once (write it with
 * pm_tx_write()) and becomes permanent at commit, and is gone on abort
 * or a crash before commit; a free takes effect at commit.  Each call
 * stages at most PM_TX_HEAP_RESERVE bytes of log records: add that to
 * pm_tx_begin()'s reserve per call, on top of the bytes written.
 */
#define PM_TX_HEAP_RESERVE 160

#define PM_ALLOC_ZERO (1U << 0)	 /* the object reads as zeros */
#define PM_ALLOC_SHORT (1U << 1) /* short-lived: kept apart from others */
#define PM_ALLOC_LONG (1U << 2)	 /* long-lived (the default) */
#define PM_ALLOC_VALID (PM_ALLOC_ZERO | PM_ALLOC_SHORT | PM_ALLOC_LONG)

/* The address of pool offset @off; NULL for 0 or outside the data area. */
void *pm_pool_ptr(struct pm_pool *pool, uint64_t off);
/* The pool offset of @ptr; 0 if it is not inside the data area. */
uint64_t pm_pool_off(struct pm_pool *pool, const void *ptr);
/* The root object: allocated zeroed and durable the first time, the same
 * offset afterwards; asked bigger, it moves, its contents kept and the
 * rest zeroed. */
int pm_pool_root(struct pm_pool *pool, size_t size, uint64_t *offp);
int pm_tx_alloc(struct pm_tx *tx, size_t size, unsigned flags, uint64_t *offp);
/* Free at commit; @off 0 does nothing. */
int pm_tx_free(struct pm_tx *tx, uint64_t off);
/* Bytes usable at @off, an allocated object's offset; else 0. */
size_t pm_usable_size(struct pm_pool *pool, uint64_t off);

struct pm_heap_stats {
	uint64_t total;	       /* bytes the heap manages (its pages) */
	uint64_t allocated;    /* usable bytes of allocated objects */
	uint64_t free;	       /* bytes free pages and free units hold */
	uint64_t largest_free; /* the largest run of free pages, bytes */
	uint64_t objects;      /* allocated objects, the root included */
	uint64_t runs;	       /* pages grouped into size-class runs */
	uint64_t extents;      /* objects that are extents of pages */
	double fragmentation;  /* 1 - largest_free / free; 0 if none free */
};
int pm_heap_stats(struct pm_pool *pool, struct pm_heap_stats *st);
/* Called for each allocated object (the root included) in offset order;
 * non-zero stops the walk and is returned. */
typedef int (*pm_heap_cb)(uint64_t off, size_t size, void *arg);
int pm_heap_walk(struct pm_pool *pool, pm_heap_cb cb, void *arg);

/* ---- append-only log ------------------------------------------------------ */

struct pm_log;

/* The log of a pool created with opts->log_size != 0 (PM_E_NO_LOG else).
 * Owned by the pool; valid until pm_pool_close(). */
int pm_pool_log(struct pm_pool *pool, struct pm_log **logp);

int pm_log_append(struct pm_log *log, const void *rec, size_t len,
		  uint64_t *seqp);
int pm_log_append_batch(struct pm_log *log, const struct iovec *recs, int n,
			uint64_t *first_seqp);
/* Called for each record from the oldest; non-zero stops the walk and is
 * returned by pm_log_walk(). */
typedef int (*pm_log_cb)(uint64_t seq, const void *rec, size_t len, void *arg);
int pm_log_walk(struct pm_log *log, uint64_t from_seq, pm_log_cb cb, void *arg);
/* Drop every record with seq <= @upto_seq. */
int pm_log_truncate(struct pm_log *log, uint64_t upto_seq);

struct pm_log_info {
	uint64_t capacity;  /* bytes of ring */
	uint64_t used;	    /* bytes held by live records */
	uint64_t first_seq; /* oldest live record (== next_seq if empty) */
	uint64_t next_seq;  /* sequence number the next append gets */
	uint64_t nrecords;
	uint64_t max_record; /* largest payload that fits an empty log */
};
int pm_log_get_info(struct pm_log *log, struct pm_log_info *info);

/* ---- bad blocks and safe access ------------------------------------------- */

/* Bad ranges of @path as file offsets; free *bbs with pm_badblocks_free().
 * -ENOTSUP: the device cannot report bad blocks (not "none"). */
int pm_badblocks_list(const char *path, struct pm_badblock **bbs, size_t *nbbs);
void pm_badblocks_free(struct pm_badblock *bbs);
/* Bad ranges of a pool file, split by the structure they hit, read
 * without opening or mapping the pool; free with
 * pm_pool_badblocks_free().  Both header copies unreadable and on bad
 * blocks: listed as a pool whose headers are lost (it cannot be opened). */
int pm_pool_badblocks_list(const char *path, struct pm_pool_badblock **bbs,
			   size_t *nbbs);
void pm_pool_badblocks_free(struct pm_pool_badblock *bbs);
/* Give the range fresh blocks; its old contents are lost. */
int pm_badblocks_clear(const char *path, const struct pm_badblock *bb);
/* Copy from the mapping; -EIO instead of SIGBUS on poisoned memory. */
int pm_read_safe(const struct pm_map *map, void *dst, const void *src,
		 size_t len);

/* ---- crash simulator --------------------------------------------------------- */

/*
 * Records every flush, non-temporal copy and fence made through libpm on
 * the mappings of one file, then produces the crash images the persistency
 * model allows at each crash point (every fence, the end of recording and,
 * with PM_SIM_FLUSH_POINTS, every flush).  See pm_sim(3).
 */
struct pm_sim;

#define PM_SIM_WORDS (1U << 0)	      /* any subset of 8-byte words per line */
#define PM_SIM_FLUSH_POINTS (1U << 1) /* crash points at flushes, too */
#define PM_SIM_VALID (PM_SIM_WORDS | PM_SIM_FLUSH_POINTS)

struct pm_sim_opts {
	size_t sz;		 /* sizeof(struct pm_sim_opts) */
	unsigned flags;		 /* PM_SIM_* */
	unsigned max_exhaustive; /* enumerate a point up to this many images;
				  * 0 = 4096 (twelve free words) */
	unsigned max_samples;	 /* sampled images per larger point; 0 = 64 */
	uint64_t seed;		 /* 0 = $PM_SIM_SEED, else from the clock */
};

int pm_sim_start(const char *path, const struct pm_sim_opts *opts,
		 struct pm_sim **simp);
/* Crash points so far: an operation that returned when this was n must
 * survive a crash at every point >= n. */
uint64_t pm_sim_points(const struct pm_sim *sim);
void pm_sim_stop(struct pm_sim *sim);
uint64_t pm_sim_seed(const struct pm_sim *sim);

enum pm_sim_point_kind {
	PM_SIM_FENCE = 0, /* before a fence takes effect */
	PM_SIM_FLUSH = 1, /* after a flush (PM_SIM_FLUSH_POINTS) */
	PM_SIM_UNMAP = 2, /* when a recorded mapping goes away */
	PM_SIM_END = 3,	  /* at pm_sim_stop() */
};

struct pm_sim_image {
	uint64_t point; /* crash point, from 0 */
	enum pm_sim_point_kind kind;
	uint64_t index;	   /* image number at this point */
	uint64_t nimages;  /* images produced at this point */
	uint64_t possible; /* images the model allows (UINT64_MAX: more) */
	unsigned nlines;   /* cache lines not known to be durable */
	unsigned nwords;   /* 8-byte words among them that may differ */
	int sampled;	   /* 1 if the point is sampled, not enumerated */
	const void *data;  /* the file as it would be after the crash */
	size_t size;
};
/* Return non-zero to stop pm_sim_explore(), which returns that value. */
typedef int (*pm_sim_cb)(const struct pm_sim_image *img, void *arg);
int pm_sim_explore(struct pm_sim *sim, pm_sim_cb cb, void *arg);
void pm_sim_free(struct pm_sim *sim);

#ifdef __cplusplus
}
#endif

#endif /* LIBPM_H */
