/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOMMU groups as the bus shows them: each group's members (bridges
 * included) and whether it is viable, read from sysfs once and kept until
 * an event of one of its members says otherwise.  GetManagedObjects and
 * PropertiesChanged read GroupDevices and Viable from here.  A grant takes
 * the members and which of them move (the endpoints) from here too, since
 * they change only with a device's arrival or departure, whose events
 * invalidate the group; it reads each member's driver live
 * (lease_check()), and the kernel's VFIO_GROUP_GET_STATUS after open has
 * the last word.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct Group {
        int number;
        bool known;             /* members and viable are current; false: read them again when asked */
        char **members;         /* sorted addresses, bridges included */
        char **endpoints;       /* the members that are not PCI bridges (they move to vfio-pci), sorted */
        bool viable;            /* every member on passthru, vfio-pci, a bridge driver or none */
        bool others_viable;     /* the same, of the members the caller does not track, as last read */
        bool viable_stale;      /* a tracked member's driver changed: viable to be worked out again */
} Group;

typedef struct GroupCache {
        Group *groups;          /* sorted by number */
        size_t n;
} GroupCache;

/*
 * What the caller knows of a member: 1 with its driver in *ret_driver
 * (NULL: none; not to be freed) for a device it tracks (never a bridge),
 * kept current by udev events; 0 for one it does not (a bridge, or a
 * device it could not read), whose driver and class are read from sysfs.
 */
typedef int (*GroupMemberDriver)(const char *address, const char **ret_driver, void *userdata);

/*
 * Group @number; when it is not known, its members are listed from the tree
 * at @sysfs_root (one directory), and its viability is worked out from
 * @member_driver and, for the members it does not know, their driver links.
 * NULL for a negative number, or when it cannot be read (no such group: the
 * caller shows no members, not viable).
 */
const Group *group_cache_get(GroupCache *c, const char *sysfs_root, int number, GroupMemberDriver member_driver,
                             void *userdata);
/* A member of @number changed (bound, unbound, added, removed): read it again when next asked. */
void group_cache_invalidate(GroupCache *c, int number);
/*
 * A member of @number that the caller tracks changed its driver, and
 * nothing else: viable is worked out again from what the caller knows of
 * its members and what was read of the others, with no sysfs read.
 */
void group_cache_driver_changed(GroupCache *c, int number);
/*
 * @address went away and its group cannot be read any more (a bridge, which
 * is not a tracked device): the groups that listed it are read again.
 * O(members of every group): for that rare event only.
 */
void group_cache_invalidate_member(GroupCache *c, const char *address);
void group_cache_done(GroupCache *c);
