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

#endif /* PM_SAFE_H */
