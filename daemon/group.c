/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "macro.h"
#include "strv.h"
#include "sysfs.h"

/* The index of @number in the sorted array, or where it would go (*found false). */
static size_t group_index(const GroupCache *c, int number, bool *found) {
        size_t lo = 0, hi = c->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (c->groups[mid].number < number)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < c->n && c->groups[lo].number == number;
        return lo;
}

static Group *group_find(const GroupCache *c, int number) {
        bool found;
        size_t i = group_index(c, number, &found);

        return found ? &c->groups[i] : NULL;
}

static Group *group_add(GroupCache *c, int number) {
        bool found;
        size_t i = group_index(c, number, &found);
        Group *a;

        if (found)
                return &c->groups[i];
        a = reallocarray(c->groups, c->n + 1, sizeof(Group));
        if (!a)
                return NULL;
        c->groups = a;
        memmove(c->groups + i + 1, c->groups + i, (c->n - i) * sizeof(Group));
        c->n++;
        c->groups[i] = (Group) { .number = number };
        return &c->groups[i];
}

/*
 * Whether every member's driver leaves the group viable: 1 or 0, or
 * -errno.  Members @member_driver does not know are read from sysfs, unless
 * @others_viable (not NULL) says what they were found to be.  Reading them,
 * their viability goes to *ret_others_viable and the members that are not
 * bridges to *ret_endpoints (each when not NULL).
 */
static int members_viable(char **members, const char *sysfs_root, GroupMemberDriver member_driver, void *userdata,
                          const bool *others_viable, bool *ret_others_viable, char ***ret_endpoints) {
        _cleanup_strv_free_ char **endpoints = NULL;
        bool viable = true, others = true;
        int r;

        if (ret_endpoints && !(endpoints = calloc(1, sizeof(char *))))
                return -ENOMEM;
        for (char **m = members; *m; m++) {
                _cleanup_free_ char *read = NULL;
                const char *driver = NULL;
                bool endpoint = true;

                r = member_driver(*m, &driver, userdata);
                if (r == 0) {
                        if (others_viable) {
                                viable = viable && *others_viable;
                                continue;
                        }
                        r = sysfs_pci_is_bridge(sysfs_root, *m);
                        if (r >= 0) {
                                endpoint = r == 0;
                                r = sysfs_pci_driver(sysfs_root, *m, &read);
                        }
                        if (r == -ENODEV)
                                continue;       /* left the group under us: its event follows */
                        driver = read;
                        if (!pci_driver_keeps_group_viable(driver))
                                others = false;
                }
                if (r < 0)
                        return r;
                if (endpoints && endpoint && strv_extend(&endpoints, *m) < 0)
                        return -ENOMEM;
                if (!pci_driver_keeps_group_viable(driver))
                        viable = false;
        }
        if (ret_others_viable)
                *ret_others_viable = others;
        if (ret_endpoints)
                *ret_endpoints = TAKE_PTR(endpoints);
        return viable;
}

const Group *group_cache_get(GroupCache *c, const char *sysfs_root, int number, GroupMemberDriver member_driver,
                             void *userdata) {
        _cleanup_strv_free_ char **members = NULL, **endpoints = NULL;
        bool others;
        Group *g;
        int viable;

        if (number < 0)
                return NULL;
        g = group_find(c, number);
        if (g && g->known && !g->viable_stale)
                return g;
        if (g && g->known) {
                /* A tracked member's driver changed: the others' are as they were read. */
                viable = members_viable(g->members, sysfs_root, member_driver, userdata, &g->others_viable, NULL,
                                        NULL);
                if (viable < 0)
                        return NULL;
                g->viable = viable > 0;
                g->viable_stale = false;
                return g;
        }
        if (sysfs_iommu_group_devices(sysfs_root, number, &members) < 0)
                return NULL;
        viable = members_viable(members, sysfs_root, member_driver, userdata, NULL, &others, &endpoints);
        if (viable < 0)
                return NULL;
        g = g ?: group_add(c, number);
        if (!g)
                return NULL;
        strv_free(g->members);
        strv_free(g->endpoints);
        g->members = TAKE_PTR(members);
        g->endpoints = TAKE_PTR(endpoints);
        g->viable = viable > 0;
        g->others_viable = others;
        g->viable_stale = false;
        g->known = true;
        return g;
}

void group_cache_invalidate(GroupCache *c, int number) {
        Group *g = number >= 0 ? group_find(c, number) : NULL;

        if (g)
                g->known = false;
}

void group_cache_driver_changed(GroupCache *c, int number) {
        Group *g = number >= 0 ? group_find(c, number) : NULL;

        if (g)
                g->viable_stale = true;
}

void group_cache_invalidate_member(GroupCache *c, const char *address) {
        for (size_t i = 0; i < c->n; i++)
                if (strv_contains(c->groups[i].members, address))
                        c->groups[i].known = false;
}

void group_cache_done(GroupCache *c) {
        for (size_t i = 0; i < c->n; i++) {
                strv_free(c->groups[i].members);
                strv_free(c->groups[i].endpoints);
        }
        free(c->groups);
        *c = (GroupCache) {};
}
