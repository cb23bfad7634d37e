/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * util.c - messages, error names, environment, the fork() generation.
 * No persistent state lives here.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "internal.h"

static void default_log(int level, const char *msg, void *arg)
{
	static const char *const names[] = { "?", "error", "warning", "info",
					     "debug" };

	(void)arg;
	fprintf(stderr, "libpm %s: %s\n",
		names[level >= 1 && level <= 4 ? level : 0], msg);
}

static pm_log_fn log_fn = default_log;
static void *log_arg;
static int log_level = -1; /* -1: not read from PM_LOG yet */

static int parse_level(const char *s)
{
	static const char *const names[] = { "none", "err", "warn", "info",
					     "debug" };

	if (!s || !*s)
		return PM_LOG_ERR;
	for (unsigned i = 0; i < PM_ARRAY_SIZE(names); i++)
		if (!strncasecmp(s, names[i], strlen(names[i])))
			return (int)i;
	return (int)strtol(s, NULL, 10);
}

PM_EXPORT void pm_set_log_fn(pm_log_fn fn, void *arg)
{
	log_fn = fn ? fn : default_log;
	log_arg = fn ? arg : NULL;
}

PM_EXPORT void pm_set_log_level(int level)
{
	log_level = level;
}

static __attribute__((format(printf, 2, 0))) void
vmsg(int level, const char *fmt, va_list ap)
{
	char buf[512];

	if (log_level < 0)
		log_level = parse_level(pm_getenv("PM_LOG"));
	if (level > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_fn(level, buf, log_arg);
}

void pm_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(level, fmt, ap);
	va_end(ap);
}

int pm_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(PM_LOG_ERR, fmt, ap);
	va_end(ap);
	return err;
}

static const char *const pm_errors[] = {
	[-(PM_E_NOT_POOL - PM_E_BASE)] = "not a libpm pool",
	[-(PM_E_VERSION - PM_E_BASE)] = "unsupported pool format version",
	[-(PM_E_CORRUPT - PM_E_BASE)] = "pool metadata is corrupt",
	[-(PM_E_LAYOUT - PM_E_BASE)] = "pool layout name does not match",
	[-(PM_E_TRUNCATED - PM_E_BASE)] =
		"pool file is shorter than its header says",
	[-(PM_E_NOT_DAX - PM_E_BASE)] = "file is not on DAX (MAP_SYNC failed)",
	[-(PM_E_BADBLOCKS - PM_E_BASE)] =
		"bad blocks where the pool must be read or written",
	[-(PM_E_UNSAFE_SHUTDOWN - PM_E_BASE)] =
		"unsafe shutdown while the pool was open: data may be lost",
	[-(PM_E_NO_LOG - PM_E_BASE)] = "pool has no log area",
	[-(PM_E_TX_FAILED - PM_E_BASE)] =
		"transaction failed and must be aborted",
	[-(PM_E_FORKED - PM_E_BASE)] =
		"pool opened by another process (fork): open it again",
};

PM_EXPORT const char *pm_strerror(int err)
{
	if (err <= PM_E_BASE - 1 && err >= PM_E_LAST)
		return pm_errors[-(err - PM_E_BASE)];
	if (err == 0)
		return "success";
	if (err < 0 && err > PM_E_BASE)
		return strerror(-err);
	return "unknown error";
}

PM_EXPORT const char *pm_version(void)
{
	return PACKAGE_VERSION;
}

const char *pm_getenv(const char *name)
{
	return secure_getenv(name);
}

int pm_env_flag(const char *name)
{
	const char *v = pm_getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

unsigned pm_forks;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_child(void)
{
	__atomic_add_fetch(&pm_forks, 1, __ATOMIC_RELAXED);
}

static void fork_init(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

unsigned pm_fork_gen(void)
{
	pthread_once(&fork_once, fork_init);
	return __atomic_load_n(&pm_forks, __ATOMIC_RELAXED);
}

#ifdef PM_DEBUG
void pm_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "libpm: assertion failed: %s (%s:%d)\n", what, file,
		line);
	abort();
}
#endif
