/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * safe.h - copies out of a mapping that survive poisoned memory.
 */
#ifndef PM_SAFE_H
#define PM_SAFE_H 1

#include <stddef.h>

/*
 * Copy @len bytes from @src to @dst; a SIGBUS for poisoned or vanished
 * memory inside [src, src + len) gives -EIO (dst partly written) instead
 * of ending the process.  No range check and no message at error level:
 * pm_read_safe() adds both.
 */
int pm_safe_copy(void *dst, const void *src, size_t len);

/*
 * Install the SIGBUS handler now rather than at the first guarded read,
 * for a caller that must fail at its start, not lose the guard midway.
 * 0 or -errno (logged).
 */
int pm_safe_install(void);

/*
 * A guarded section: run @fn(@arg) and return what it returns, or -EIO if
 * a SIGBUS for poisoned or vanished memory inside [src, src + len) cut it
 * short.  One setjmp for a whole walk instead of one per copy; @fn reads
 * the mapping in place.  A fault leaves @fn wherever it was: while
 * guarded, @fn must hold no lock, allocation or other state that needs
 * undoing, and must only read [src, src + len) (and write it idempotently).
 * Sections and copies nest.
 */
int pm_safe_run(const void *src, size_t len, int (*fn)(void *), void *arg);

/*
 * Inside @fn: suspend the guard around code that must never be left by a
 * jump (an application callback, a lock); a SIGBUS there is not caught.
 * pm_safe_resume() takes what pm_safe_pause() returned.
 */
void *pm_safe_pause(void);
void pm_safe_resume(void *token);

#endif /* PM_SAFE_H */
