/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * os.h - thin wrappers over the system calls that can fail for resource
 * reasons.  Each returns 0 (or a descriptor) or a negative errno, and can
 * be made to fail by a --enable-fault-injection build (PM_FAULT=name:N).
 */
#ifndef PM_OS_H
#define PM_OS_H 1

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

int pm_os_open(const char *path, int flags, mode_t mode);
/*
 * Open @path given by a caller of the library: without blocking, and
 * only a regular file, or with PM_OS_DEV in @types also a block or
 * character device (device-dax); anything else (FIFO, socket, directory)
 * gives -EINVAL.  Every failure is logged with the path and the cause.
 * Return: the descriptor (O_NONBLOCK cleared unless @flags has it), or
 * -errno.
 */
#define PM_OS_DEV 1U
int pm_os_open_file(const char *path, int flags, mode_t mode, unsigned types);
/* Open a sysfs file read-only.  Its own fault kind, "sysfs": every sysfs
 * read probes the platform, and a failed probe may answer "no" (no eADR,
 * bad blocks unknown) rather than fail the caller. */
int pm_os_open_sysfs(const char *path);
/* Open a sysfs file write-only (same fault kind). */
int pm_os_open_sysfs_write(const char *path);
int pm_os_mmap(void **addrp, size_t len, int prot, int flags, int fd,
	       off_t off);
int pm_os_ftruncate(int fd, off_t len);
int pm_os_fallocate(int fd, int mode, off_t off, off_t len);
int pm_os_msync(void *addr, size_t len, int flags);
int pm_os_flock(int fd, int op);
int pm_os_sigaction(int sig, const struct sigaction *act,
		    struct sigaction *old);
/* Bytes written, or -errno. */
ssize_t pm_os_pwrite(int fd, const void *buf, size_t len, off_t off);
int pm_os_fsync(int fd);

#endif /* PM_OS_H */
