/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * badblocks_none.c - device-dax bad blocks without libndctl: the region's
 * list and the device's offset in it come only through libndctl, so the
 * answer is "cannot tell", never "none".  Nothing persistent is touched.
 */
#include <sys/sysmacros.h>

#include "badblocks.h"
#include "internal.h"

int pm_bb_devdax(dev_t rdev, struct pm_bb_list *out)
{
	(void)out;
	pm_warn("device-dax %u:%u: bad blocks are unavailable: libpm was "
		"built without libndctl (--with-ndctl=no)",
		major(rdev), minor(rdev));
	return -ENOTSUP;
}
