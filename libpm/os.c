/* SPDX-License-Identifier: BSD-3-Clause */
/* os.c - system-call wrappers returning -errno, with fault injection. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "os.h"

#define FAULT(name)                                                            \
	do {                                                                   \
		int f_ = pm_fault(name);                                       \
		if (f_)                                                        \
			return f_;                                             \
	} while (0)

int pm_os_open(const char *path, int flags, mode_t mode)
{
	int fd;

	FAULT("open");
	fd = open(path, flags | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

static const char *file_type(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISCHR(m))
		return "a character device";
	return "not a regular file";
}

static int type_ok(mode_t m, unsigned types)
{
	return S_ISREG(m) ||
	       ((types & PM_OS_DEV) && (S_ISBLK(m) || S_ISCHR(m)));
}

static int type_err(const char *path, mode_t m, unsigned types)
{
	return pm_err(-EINVAL, "%s: %s, not a regular file%s", path,
		      file_type(m), types & PM_OS_DEV ? " or a device" : "");
}

/* O_NONBLOCK so that a FIFO without a writer (or a device that waits for
 * a carrier) cannot hang the open; the type is checked on the descriptor,
 * so nothing can be swapped in between. */
int pm_os_open_file(const char *path, int flags, mode_t mode, unsigned types)
{
	struct stat st;
	int fd, ret;

	fd = pm_os_open(path, flags | O_NONBLOCK, mode);
	if (fd < 0) {
		if ((fd == -EISDIR || fd == -ENXIO) && !stat(path, &st) &&
		    !type_ok(st.st_mode, types))
			return type_err(path, st.st_mode, types);
		return pm_err(fd, "%s: %s", path, pm_strerror(fd));
	}
	ret = fstat(fd, &st) ? -errno : 0;
	if (ret)
		pm_err(ret, "%s: stat: %s", path, pm_strerror(ret));
	else if (!type_ok(st.st_mode, types))
		ret = type_err(path, st.st_mode, types);
	else if (!(flags & O_NONBLOCK) &&
		 fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		ret = pm_err(-errno, "%s: fcntl: %s", path, strerror(errno));
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int pm_os_open_sysfs(const char *path)
{
	int fd;

	FAULT("sysfs");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pm_os_open_sysfs_write(const char *path)
{
	int fd;

	FAULT("sysfs");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pm_os_mmap(void **addrp, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	FAULT("mmap");
	p = mmap(*addrp, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return -errno;
	*addrp = p;
	return 0;
}

int pm_os_ftruncate(int fd, off_t len)
{
	FAULT("ftruncate");
	return ftruncate(fd, len) ? -errno : 0;
}

int pm_os_fallocate(int fd, int mode, off_t off, off_t len)
{
	FAULT("fallocate");
	return fallocate(fd, mode, off, len) ? -errno : 0;
}

int pm_os_msync(void *addr, size_t len, int flags)
{
	FAULT("msync");
	return msync(addr, len, flags) ? -errno : 0;
}

int pm_os_flock(int fd, int op)
{
	FAULT("flock");
	return flock(fd, op) ? -errno : 0;
}

int pm_os_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	FAULT("sigaction");
	return sigaction(sig, act, old) ? -errno : 0;
}

ssize_t pm_os_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n;

	FAULT("write");
	n = pwrite(fd, buf, len, off);
	return n < 0 ? -errno : n;
}

int pm_os_fsync(int fd)
{
	FAULT("fsync");
	return fsync(fd) ? -errno : 0;
}
