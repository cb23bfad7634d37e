/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault.h - the fault-injection engine (fault.c) and its control, for
 * tests.  The engine exists only in a build with PM_FAULT_INJECTION
 * (--enable-fault-injection, or the libpm-fault.la test library); without
 * it pm_fault() is a constant 0.  The library itself only calls
 * pm_fault(), from os.c and the allocator (alloc.c).
 *
 * A fault fails exactly one call: the Nth injectable call of any kind, or
 * the Nth call of one kind ("malloc", "open", "mmap", "ftruncate",
 * "fallocate", "msync", "flock", "sigaction", "pthread_create", "write",
 * "fsync", "sysfs").  The
 * PM_FAULT environment variable arms one at start-up: PM_FAULT=N or
 * PM_FAULT=name:N, with a trailing '+' (PM_FAULT=mmap:2+) for a sticky
 * fault.
 */
#ifndef PM_FAULT_H
#define PM_FAULT_H 1

/*
 * Fault injection (fault.c): returns the negative errno to fail with for
 * this call of @name ("malloc", "mmap", ...), or 0.  Always 0 unless built
 * with --enable-fault-injection and PM_FAULT is set.
 */
#ifdef PM_FAULT_INJECTION
int pm_fault(const char *name);
#else
static inline int pm_fault(const char *name)
{
	(void)name;
	return 0;
}
#endif

#ifdef PM_FAULT_INJECTION

/* Fail every call from the Nth on, not only the Nth: a retry loop then
 * never ends, where a one-shot fault would let its second try succeed. */
#define PM_FAULT_STICKY (1U << 0)

/*
 * Fail the @n-th call of kind @name (NULL: of any kind) counted from now,
 * with the kind's usual errno.  Resets all counters.  @n == 0 disarms.
 * Return: 0, or -EINVAL for an unknown kind or flag.
 */
int pm_fault_arm(const char *name, unsigned long n, unsigned flags);
/* Disarm; counters keep counting. */
void pm_fault_disarm(void);
/* Injectable calls of kind @name (NULL: all kinds) since the last arm. */
unsigned long pm_fault_calls(const char *name);
/* Faults injected since the last arm (0 or 1 for a one-shot fault). */
unsigned long pm_fault_hits(void);
/* Kind of the last injected fault ("" if none since the last arm). */
const char *pm_fault_last(void);
/* Copy up to @max return addresses of the first injected fault's call
 * stack (innermost first, pm_fault() itself left out); returns how many. */
int pm_fault_last_stack(void **frames, int max);
/* The errno (negative) injected for kind @name, 0 if unknown. */
int pm_fault_errno(const char *name);
/* Allocations made by pm_malloc/pm_realloc and not yet freed. */
long pm_fault_live_allocs(void);
/* alloc.c bookkeeping for pm_fault_live_allocs(). */
void pm_fault_note_alloc(long delta);

#endif /* PM_FAULT_INJECTION */

#endif /* PM_FAULT_H */
