/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer.h"
#include "log.h"
#include "process.h"
#include "macro.h"
#include "manager.h"

typedef enum Policy {
        POLICY_ROOT,
        POLICY_LEASE,   /* root and members of the configured group */
} Policy;

static const struct {
        const char *member;
        Policy policy;
} policies[] = {
        { "Acquire", POLICY_LEASE },
        { "Release", POLICY_LEASE },
        /* everything else: root */
};

static Policy policy_of(const char *member) {
        for (size_t i = 0; i < ELEMENTSOF(policies); i++)
                if (strcmp(policies[i].member, member) == 0)
                        return policies[i].policy;
        return POLICY_ROOT;
}

/*
 * Is @uid, with the groups the bus reported (or else its configured ones), in
 * @gid?  Groups sd-bus read from /proc rather than got from the bus are not
 * trusted: the process may have changed them since it connected.
 */
static bool in_group(sd_bus_creds *c, uid_t uid, gid_t gid) {
        uint64_t from_proc = sd_bus_creds_get_augmented_mask(c);
        const gid_t *gids = NULL;
        gid_t primary;
        int n = -ENODATA;

        if (!(from_proc & SD_BUS_CREDS_GID) && sd_bus_creds_get_gid(c, &primary) >= 0 && primary == gid)
                return true;
        if (!(from_proc & SD_BUS_CREDS_SUPPLEMENTARY_GIDS))
                n = sd_bus_creds_get_supplementary_gids(c, &gids);
        if (n >= 0) {
                for (int i = 0; i < n; i++)
                        if (gids[i] == gid)
                                return true;
                return false;
        }

        /* The bus did not say: the account's configured groups. */
        struct passwd *pw = getpwuid(uid);
        gid_t list[256];
        int count = (int) ELEMENTSOF(list);

        if (!pw || getgrouplist(pw->pw_name, pw->pw_gid, list, &count) < 0)
                return false;
        for (int i = 0; i < count; i++)
                if (list[i] == gid)
                        return true;
        return false;
}

int bouncer_check(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
        const char *member = sd_bus_message_get_member(msg);
        struct group *gr;
        uid_t euid;
        pid_t pid = 0;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_GID |
                                      SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot learn who is calling: %m");
        if (sd_bus_creds_get_augmented_mask(c) & (SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "The bus did not vouch for the caller's uid and pid.");
        r = sd_bus_creds_get_euid(c, &euid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot learn the caller's uid: %m");
        (void) sd_bus_creds_get_pid(c, &pid);
        if (ret)
                *ret = (Caller) { .euid = euid, .pid = pid };

        if (euid == 0)
                return 0;
        if (policy_of(member ?: "") == POLICY_LEASE) {
                gr = getgrnam(m->config.group);
                if (gr && in_group(c, euid, gr->gr_gid))
                        return 0;
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s is for root and members of group '%s'.", member, m->config.group);
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s is for root only.", member ?: "This");
}

static uint64_t boottime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void bus_peers_done(BusPeers *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->peers[i].name);
        free(p->peers);
        sd_bus_slot_unref(p->slot);
        *p = (BusPeers) {};
}

static BusPeer *bus_peers_find(const BusPeers *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->peers[i].name, name) == 0)
                        return &p->peers[i];
        return NULL;
}

int bus_peers_note(BusPeers *p, const char *name, uint64_t when) {
        BusPeer *found = bus_peers_find(p, name), *a;

        if (when == 0) {
                if (found) {
                        free(found->name);
                        *found = p->peers[--p->n];
                }
                return 0;
        }
        if (found)
                return 0;       /* the first sighting is the one that counts */
        a = reallocarray(p->peers, p->n + 1, sizeof(BusPeer));
        if (!a)
                return -ENOMEM;
        p->peers = a;
        p->peers[p->n].name = strdup(name);
        if (!p->peers[p->n].name)
                return -ENOMEM;
        p->peers[p->n++].appeared = when;
        return 0;
}

uint64_t bus_peers_appeared(const BusPeers *p, const char *name) {
        const BusPeer *found = bus_peers_find(p, name);

        return found ? found->appeared : p->watch_started;
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;

        (void) ret_error;
        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || name[0] != ':')
                return 0;
        /* A unique name appears once and leaves once: ("", ":1.5") and (":1.5", ""). */
        if (bus_peers_note(&m->peers, name, new_owner[0] ? boottime_usec() : 0) < 0)
                log_error("Out of memory while following bus connections: callers may be refused");
        return 0;
}

int bouncer_watch_peers(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_match_signal(bus, &m->peers.slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, m);
        if (r < 0)
                return r;
        /* The match is in force now: any connection not seen began before this. */
        m->peers.watch_started = boottime_usec();
        return 0;
}

int bouncer_pin(Manager *m, sd_bus_message *msg, pid_t pid, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(msg);
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t ticks, started, appeared;
        long hz = sysconf(_SC_CLK_TCK);
        int r;

        assert(m);
        assert(msg);

        if (pid <= 0 || !sender || hz <= 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The bus did not say which process is calling.");
        pidfd = pidfd_open(pid);
        if (pidfd < 0) {
                r = -errno;
                return sd_bus_error_set_errnof(error, r, "Cannot pin the calling process %u: %m", (unsigned) pid);
        }
        /* The start time read after the pidfd, and the process still alive: both are of the pinned one. */
        r = proc_start_time(pid, &ticks);
        if (r < 0 || pidfd_send_signal(pidfd, 0) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "The calling process %u exited during the call.", (unsigned) pid);
        /* /proc's start time is in clock ticks since boot, rounded down. */
        started = ticks * (1000000ULL / (uint64_t) hz);
        appeared = bus_peers_appeared(&m->peers, sender);
        if (started > appeared)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Process %u started after bus connection %s appeared: it cannot be the "
                                         "process that made it (its pid was reused).", (unsigned) pid, sender);
        return TAKE_FD(pidfd);
}
