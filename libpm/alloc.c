/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * alloc.c - the one allocator entry of the library.  Every allocation
 * asks the fault-injection engine first (fault.c), so a test can fail any
 * of them, and is counted there so that a test can see leaks.
 */
#include "fault.h"
#include "internal.h"

#ifdef PM_FAULT_INJECTION
#define NOTE_ALLOC(d) pm_fault_note_alloc(d)
#else
#define NOTE_ALLOC(d) ((void)0)
#endif

/* A fresh block @p (or NULL), counted. */
static void *counted(void *p)
{
	if (p)
		NOTE_ALLOC(1);
	return p;
}

void *pm_malloc(size_t size)
{
	return pm_fault("malloc") ? NULL : counted(malloc(size ? size : 1));
}

/* calloc, not malloc + memset: a large block comes from fresh zero pages,
 * so a sparse table (the heap's page map) faults in only what is used
 * (opening a 1 GiB heap: 17-19 ms -> 12-13 ms). */
void *pm_zalloc(size_t size)
{
	return pm_fault("malloc") ? NULL : counted(calloc(1, size ? size : 1));
}

void *pm_zalloc_aligned(size_t size, size_t align, void **memp)
{
	void *mem = pm_zalloc(size + align);

	*memp = mem;
	return mem ? (void *)PM_ALIGN_UP((uintptr_t)mem, (uintptr_t)align) :
		     NULL;
}

void *pm_realloc(void *ptr, size_t size)
{
	void *p;

	if (pm_fault("malloc"))
		return NULL;
	p = realloc(ptr, size ? size : 1);
	if (p && !ptr)
		NOTE_ALLOC(1);
	return p;
}

void *pm_grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t c = *cap ? 2 * *cap : first;

	if (n < *cap)
		return v;
	if (c < *cap || c > SIZE_MAX / size)
		return NULL;
	v = pm_realloc(v, c * size);
	if (v)
		*cap = c;
	return v;
}

char *pm_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = pm_malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

void pm_free(void *ptr)
{
	if (ptr)
		NOTE_ALLOC(-1);
	free(ptr);
}
