/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault.c - the fault-injection engine.  Every allocation and every system
 * call that can fail for lack of a resource asks pm_fault() first; in a
 * build with PM_FAULT_INJECTION this counts the call and fails the one
 * chosen by PM_FAULT=N / PM_FAULT=name:N or by pm_fault_arm().
 * Persistent state: none.  A fault changes only what the failing call
 * returns, never what it does to the pool: the call is not made at all.
 * Without PM_FAULT_INJECTION this file is empty and pm_fault() is an
 * inline 0 (os.h).
 */
#ifdef PM_FAULT_INJECTION

#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>

#include "fault.h"
#include "internal.h"

/* Each kind fails the way the resource it stands for runs out. */
static struct fault_kind {
	const char *name;
	int err;
	unsigned long calls;
} kinds[] = {
	{ "malloc", -ENOMEM, 0 },
	{ "open", -EMFILE, 0 },
	{ "mmap", -ENOMEM, 0 },
	{ "ftruncate", -EIO, 0 },
	{ "fallocate", -ENOSPC, 0 },
	{ "msync", -EIO, 0 },
	{ "flock", -ENOLCK, 0 },
	{ "sigaction", -EINVAL, 0 },
	{ "pthread_create", -EAGAIN, 0 },
	{ "write", -ENOSPC, 0 },
	{ "fsync", -EIO, 0 },
	{ "sysfs", -EMFILE, 0 },
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static unsigned long total;   /* calls of any kind since arm */
static unsigned long unknown; /* calls of a kind not in the table */
static int armed_kind = -1;   /* index into kinds[], -1: any kind */
static unsigned long armed_n; /* 0: disarmed */
static unsigned armed_flags;  /* PM_FAULT_STICKY */
static unsigned long hits;
static const char *last_hit = "";
#define STACK_MAX 8
static void *stack[STACK_MAX + 1]; /* the first hit's, pm_fault() first */
static int stack_len;
static long live_allocs;

static int kind_index(const char *name)
{
	for (unsigned i = 0; i < PM_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].name, name))
			return (int)i;
	return -1;
}

static void reset_locked(void)
{
	for (unsigned i = 0; i < PM_ARRAY_SIZE(kinds); i++)
		kinds[i].calls = 0;
	total = 0;
	unknown = 0;
	hits = 0;
	last_hit = "";
	stack_len = 0;
}

static int arm_locked(const char *name, unsigned long n, unsigned flags)
{
	int k = -1;

	if ((name && (k = kind_index(name)) < 0) || (flags & ~PM_FAULT_STICKY))
		return -EINVAL;
	reset_locked();
	armed_kind = k;
	armed_n = n;
	armed_flags = flags;
	return 0;
}

/* PM_FAULT=N or PM_FAULT=name:N, '+' at the end for sticky */
static void parse_env(void)
{
	const char *v = pm_getenv("PM_FAULT");
	const char *colon, *num;
	char name[32] = "";
	unsigned flags = 0;
	char *end;
	unsigned long n;

	if (!v || !*v)
		return;
	colon = strchr(v, ':');
	num = colon ? colon + 1 : v;
	if (colon && (size_t)(colon - v) < sizeof(name))
		memcpy(name, v, (size_t)(colon - v));
	n = strtoul(num, &end, 10);
	if (*end == '+') {
		flags = PM_FAULT_STICKY;
		end++;
	}
	if (*end || end == num || n == 0 || (colon && !*name) ||
	    arm_locked(colon ? name : NULL, n, flags)) {
		pm_warn("PM_FAULT=%s not understood (N or name:N, "
			"optionally with a trailing +), ignored",
			v);
		return;
	}
	pm_info("fault injection armed: %s call %lu%s", colon ? name : "any", n,
		flags ? " and every later one" : "");
}

/* Is this call (the @nth of its kind, kind index @k) the one to fail? */
static int chosen(int k, unsigned long nth)
{
	unsigned long count = armed_kind < 0 ? total : nth;

	if (!armed_n || (armed_kind >= 0 && armed_kind != k))
		return 0;
	return (armed_flags & PM_FAULT_STICKY) ? count >= armed_n :
						 count == armed_n;
}

static void env_init(void)
{
	pthread_mutex_lock(&lock);
	parse_env();
	pthread_mutex_unlock(&lock);
}

int pm_fault(const char *name)
{
	unsigned long nth;
	int k, err = 0;

	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&lock);
	k = kind_index(name);
	total++;
	if (k >= 0)
		nth = ++kinds[k].calls;
	else
		nth = ++unknown;
	if (chosen(k, nth)) {
		err = k >= 0 ? kinds[k].err : -EIO;
		if (!hits++)
			stack_len = backtrace(stack, STACK_MAX + 1);
		last_hit = name;
	}
	pthread_mutex_unlock(&lock);
	if (err)
		pm_dbg("fault injected: %s call %lu fails with %s", name, nth,
		       pm_strerror(err));
	return err;
}

int pm_fault_arm(const char *name, unsigned long n, unsigned flags)
{
	int ret;

	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&lock);
	ret = arm_locked(name, n, flags);
	pthread_mutex_unlock(&lock);
	return ret;
}

void pm_fault_disarm(void)
{
	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&lock);
	armed_n = 0;
	pthread_mutex_unlock(&lock);
}

unsigned long pm_fault_calls(const char *name)
{
	unsigned long n;
	int k;

	pthread_mutex_lock(&lock);
	if (!name) {
		n = total;
	} else {
		k = kind_index(name);
		n = k >= 0 ? kinds[k].calls : 0;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned long pm_fault_hits(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = hits;
	pthread_mutex_unlock(&lock);
	return n;
}

const char *pm_fault_last(void)
{
	const char *s;

	pthread_mutex_lock(&lock);
	s = last_hit;
	pthread_mutex_unlock(&lock);
	return s;
}

int pm_fault_last_stack(void **frames, int max)
{
	int n;

	pthread_mutex_lock(&lock);
	n = PM_MIN(stack_len - 1, max);
	if (n > 0)
		memcpy(frames, stack + 1, (size_t)n * sizeof(*frames));
	pthread_mutex_unlock(&lock);
	return PM_MAX(n, 0);
}

int pm_fault_errno(const char *name)
{
	int k = kind_index(name);

	return k >= 0 ? kinds[k].err : 0;
}

void pm_fault_note_alloc(long delta)
{
	__atomic_add_fetch(&live_allocs, delta, __ATOMIC_RELAXED);
}

long pm_fault_live_allocs(void)
{
	return __atomic_load_n(&live_allocs, __ATOMIC_RELAXED);
}

#endif /* PM_FAULT_INJECTION */
