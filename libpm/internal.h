/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * internal.h - what every module of libpm shares: export marker, messages,
 * the one allocator entry, assertions, little-endian accessors.
 */
#ifndef PM_INTERNAL_H
#define PM_INTERNAL_H 1

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libpm.h"

#define PM_EXPORT __attribute__((visibility("default")))

#define PM_CACHELINE 64
#define PM_ALIGN_UP(x, a) (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define PM_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define PM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Each argument may be evaluated twice: pass no load of memory another
 * thread writes, and no call with a side effect (read it into a local). */
#define PM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PM_MAX(a, b) ((a) > (b) ? (a) : (b))
#define PM_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* messages (util.c) */
void pm_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Log at PM_LOG_ERR and return @err: "return pm_err(-EINVAL, ...);" */
int pm_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pm_warn(...) pm_msg(PM_LOG_WARN, __VA_ARGS__)
#define pm_info(...) pm_msg(PM_LOG_INFO, __VA_ARGS__)
#define pm_dbg(...) pm_msg(PM_LOG_DEBUG, __VA_ARGS__)

/* fork() after open (util.c): a handle records pm_fork_gen() when it is
 * made; pm_forks differs from it in a child process. */
extern unsigned pm_forks;
unsigned pm_fork_gen(void);

/* The one allocator entry (alloc.c); fails under fault injection. */
void *pm_malloc(size_t size);
void *pm_zalloc(size_t size);
/* pm_zalloc() of @size bytes aligned to @align (a power of two); *@memp
 * receives the block to pm_free(). */
void *pm_zalloc_aligned(size_t size, size_t align, void **memp);
void *pm_realloc(void *ptr, size_t size);
/* Room for one more element in array @v of *@cap elements of @size bytes,
 * @n in use: when full, a copy twice as long (@first long at first), with
 * *@cap updated.  Return: the array, or NULL (@v untouched) if out of
 * memory. */
void *pm_grow(void *v, size_t *cap, size_t n, size_t size, size_t first);
char *pm_strdup(const char *s);
void pm_free(void *ptr);

/* Environment (util.c): secure_getenv; flag is set unless "0" or empty. */
const char *pm_getenv(const char *name);
int pm_env_flag(const char *name);

#ifdef PM_DEBUG
#define PM_ASSERT(c)                                                           \
	do {                                                                   \
		if (!(c))                                                      \
			pm_assert_fail(#c, __FILE__, __LINE__);                \
	} while (0)
void pm_assert_fail(const char *what, const char *file, int line)
	__attribute__((noreturn));
#else
#define PM_ASSERT(c) ((void)0)
#endif

/* Overflow-checked arithmetic for untrusted sizes: non-zero on overflow. */
static inline int pm_add_overflows(uint64_t a, uint64_t b, uint64_t *res)
{
	return __builtin_add_overflow(a, b, res);
}

/* Of two copies (pool headers, lane headers, log headers), the one to
 * trust: valid with the higher generation, copy 0 on a tie; -1 if
 * neither is valid. */
static inline int pm_pick_copy(const int ok[2], uint64_t gen0, uint64_t gen1)
{
	if (!ok[0] && !ok[1])
		return -1;
	return ok[1] && (!ok[0] || gen1 > gen0);
}

/* Is [off, off+len) inside [0, size)? Safe for any untrusted values. */
static inline int pm_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* On-media integers are little-endian; these compile to plain moves on
 * little-endian hosts. */
static inline uint64_t pm_le64(uint64_t v)
{
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v :
							   __builtin_bswap64(v);
}
static inline uint32_t pm_le32(uint32_t v)
{
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v :
							   __builtin_bswap32(v);
}
static inline uint16_t pm_le16(uint16_t v)
{
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v :
							   __builtin_bswap16(v);
}

#endif /* PM_INTERNAL_H */
