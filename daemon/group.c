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
 * 1 when every member's driver leaves the group viable, 0 when one does
 * not, or -errno; the members that are not bridges in *ret_endpoints.
 */
static int members_read(char **members, const char *sysfs_root, GroupMemberDriver member_driver, void *userdata,
                        char ***ret_endpoints) {
        _cleanup_strv_free_ char **endpoints = calloc(1, sizeof(char *));
        bool viable = true;
        int r;

        if (!endpoints)
                return -ENOMEM;
        for (char **m = members; *m; m++) {
                _cleanup_free_ char *read = NULL;
                const char *driver = NULL;
                bool endpoint = true;

                r = member_driver(*m, &driver, userdata);
                if (r == 0) {
                        r = sysfs_pci_is_bridge(sysfs_root, *m);
                        if (r >= 0) {
                                endpoint = r == 0;
                                r = sysfs_pci_driver(sysfs_root, *m, &read);
                        }
                        if (r == -ENODEV)
                                continue;       /* left the group under us: its event follows */
                        driver = read;
                }
                if (r < 0)
                        return r;
                if (endpoint && strv_extend(&endpoints, *m) < 0)
                        return -ENOMEM;
                if (!pci_driver_keeps_group_viable(driver))
                        viable = false;
        }
        *ret_endpoints = TAKE_PTR(endpoints);
        return viable;
}

const Group *group_cache_get(GroupCache *c, const char *sysfs_root, int number, GroupMemberDriver member_driver,
                             void *userdata) {
        _cleanup_strv_free_ char **members = NULL, **endpoints = NULL;
        Group *g;
        int viable;

        if (number < 0)
                return NULL;
        g = group_find(c, number);
        if (g && g->known)
                return g;
        if (sysfs_iommu_group_devices(sysfs_root, number, &members) < 0)
                return NULL;
        viable = members_read(members, sysfs_root, member_driver, userdata, &endpoints);
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
        g->known = true;
        return g;
}

void group_cache_invalidate(GroupCache *c, int number) {
        Group *g = number >= 0 ? group_find(c, number) : NULL;

        if (g)
                g->known = false;
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
