/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer.h"
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

/* How long the bus may take to say who is calling. */
#define PIN_TIMEOUT_USEC (5 * 1000000ULL)

static int on_pid_answer(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallerPin *p = userdata;
        uint32_t pid = 0;

        (void) ret_error;
        p->answered = true;
        p->slot = sd_bus_slot_unref(p->slot);
        if (!sd_bus_message_is_method_error(reply, NULL) && sd_bus_message_read(reply, "u", &pid) >= 0)
                p->again = (pid_t) pid;
        return 0;
}

int bouncer_pin_start(Manager *m, sd_bus_message *msg, pid_t pid, CallerPin *p, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(msg);
        int r;

        *p = CALLER_PIN_NULL;
        p->pid = pid;
        if (pid <= 0 || !sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The bus did not say which process is calling.");
        p->pidfd = pidfd_open(pid);
        if (p->pidfd < 0) {
                r = -errno;
                p->pidfd = -EBADF;
                return sd_bus_error_set_errnof(error, r, "Cannot pin the calling process %u: %m", (unsigned) pid);
        }
        if (m->check_bus) {
                r = sd_bus_call_method_async(m->check_bus, &p->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetConnectionUnixProcessID", on_pid_answer, p,
                                             "s", sender);
                if (r >= 0)
                        return 0;
        }
        /* No connection of our own: ask on the main one, and wait now. */
        {
                _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;

                r = sd_bus_get_name_creds(sd_bus_message_get_bus(msg), sender, SD_BUS_CREDS_PID, &c);
                if (r >= 0)
                        (void) sd_bus_creds_get_pid(c, &p->again);
                p->answered = true;
        }
        return 0;
}

int bouncer_pin_finish(Manager *m, CallerPin *p, sd_bus_error *error) {
        struct timespec ts;
        uint64_t now, deadline;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        deadline = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000 + PIN_TIMEOUT_USEC;
        while (!p->answered) {
                r = sd_bus_process(m->check_bus, NULL);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Cannot ask the bus who is calling: %m");
                if (r > 0)
                        continue;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
                if (now >= deadline)
                        return sd_bus_error_set(error, SD_BUS_ERROR_TIMEOUT, "The bus did not say in time who is calling.");
                r = sd_bus_wait(m->check_bus, deadline - now);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Cannot ask the bus who is calling: %m");
        }
        if (p->again != p->pid)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The calling process went away.");
        return TAKE_FD(p->pidfd);
}

void bouncer_pin_done(CallerPin *p) {
        p->slot = sd_bus_slot_unref(p->slot);
        p->pidfd = safe_close(p->pidfd);
}
