/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * safe.c - SIGBUS-safe copies from a mapping (pm_read_safe() is map.c's).
 *
 * Invariant: nothing is written to persistent memory here; a poisoned
 * source costs the caller -EIO and a partly written destination, never the
 * process.  A SIGBUS that is not ours (another address, another si_code,
 * or no copy in progress on the faulting thread) goes to the handler that
 * was installed before ours, or to the default action.
 *
 * The handler is installed once.  Each thread has its own stack of
 * recovery points, each on the stack frame of a copy or of a guarded
 * section (pm_safe_run) and pushed only while it runs; the handler leaves
 * through siglongjmp() to the innermost point whose range holds the
 * faulting address, without restoring the signal mask (that would cost a
 * system call per copy), so the landing code unblocks SIGBUS itself.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

#include "internal.h"
#include "os.h"
#include "safe.h"

#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR 4
#endif
#ifndef BUS_MCEERR_AO
#define BUS_MCEERR_AO 5
#endif

struct safe_point {
	sigjmp_buf env;
	uintptr_t lo, hi;	 /* the source being read */
	struct safe_point *prev; /* the point pushed before this one */
	void *fault;		 /* where it faulted */
};

/* The innermost point of this thread, NULL if none (or paused).
 * initial-exec: the handler must not make glibc allocate TLS. */
static __thread struct safe_point *tls_point
	__attribute__((tls_model("initial-exec")));

static struct sigaction prev_sa;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int installed;

static int is_poison(int code)
{
	return code == BUS_MCEERR_AR || code == BUS_MCEERR_AO ||
	       code == BUS_ADRERR;
}

/* Hand a foreign SIGBUS to whoever had it before us. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;

	if (prev_sa.sa_flags & SA_SIGINFO) {
		prev_sa.sa_sigaction(sig, si, uc);
		return;
	}
	if (prev_sa.sa_handler == SIG_IGN && si->si_code <= 0)
		return;
	if (prev_sa.sa_handler != SIG_DFL && prev_sa.sa_handler != SIG_IGN) {
		prev_sa.sa_handler(sig);
		return;
	}
	/* Default action: a fault re-executes and dies, a sent signal is
	 * raised again (it stays blocked until we return). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	if (si->si_code > 0 && is_poison(si->si_code)) {
		for (struct safe_point *p = tls_point; p; p = p->prev) {
			if (a >= p->lo && a < p->hi) {
				p->fault = si->si_addr;
				siglongjmp(p->env, 1);
			}
		}
	}
	chain(sig, si, uc);
}

static int install(void)
{
	struct sigaction sa;
	int ret = 0;

	pthread_mutex_lock(&install_lock);
	if (!installed) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		ret = pm_os_sigaction(SIGBUS, &sa, &prev_sa);
		if (!ret)
			installed = 1;
	}
	pthread_mutex_unlock(&install_lock);
	return ret ? pm_err(ret, "installing the SIGBUS handler: %s",
			    pm_strerror(ret)) :
		     0;
}

static void unblock_sigbus(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void push(struct safe_point *p)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tls_point = p;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* After a jump to @p: its frame is live again, everything pushed after
 * it is gone. */
static int landed(struct safe_point *p, size_t len)
{
	push(p->prev);
	unblock_sigbus();
	pm_dbg("poisoned memory at %p (read of %zu bytes from %p)", p->fault,
	       len, (void *)p->lo);
	return -EIO;
}

int pm_safe_install(void)
{
	return PM_LIKELY(installed) ? 0 : install();
}

int pm_safe_run(const void *src, size_t len, int (*fn)(void *), void *arg)
{
	struct safe_point p;
	int ret = pm_safe_install();

	if (ret)
		return ret;
	p.lo = (uintptr_t)src;
	p.hi = (uintptr_t)src + len;
	p.prev = tls_point;
	if (sigsetjmp(p.env, 0))
		return landed(&p, len);
	push(&p);
	ret = fn(arg);
	push(p.prev);
	return ret;
}

struct safe_copy {
	void *dst;
	const void *src;
	size_t len;
};

static int copy_guarded(void *arg)
{
	const struct safe_copy *c = arg;

	memcpy(c->dst, c->src, c->len);
	return 0;
}

/* A copy is a guarded section that does nothing but the copy. */
int pm_safe_copy(void *dst, const void *src, size_t len)
{
	struct safe_copy c = { dst, src, len };

	if (!len)
		return 0;
	return pm_safe_run(src, len, copy_guarded, &c);
}

void *pm_safe_pause(void)
{
	struct safe_point *p = tls_point;

	push(NULL);
	return p;
}

void pm_safe_resume(void *token)
{
	push(token);
}
