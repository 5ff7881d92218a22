/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer.h"
#include "direct.h"
#include "log.h"
#include "process.h"
#include "macro.h"
#include "manager.h"

typedef enum Policy {
        POLICY_ROOT,
        POLICY_LEASE,   /* root and members of the configured group */
        POLICY_ANYONE,  /* what properties already tell anyone */
} Policy;

static const struct {
        const char *member;
        Policy policy;
} policies[] = {
        { "ListDevices", POLICY_ANYONE },
        { "GetDevice", POLICY_ANYONE },
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
 * Is the caller, with the groups its transport vouched for (or else the
 * account's configured ones), in @gid?  Groups sd-bus read from /proc
 * rather than got from the bus are not trusted: the process may have
 * changed them since it connected.
 */
static bool in_group(const Caller *c, gid_t gid) {
        if (c->gid_known && c->gid == gid)
                return true;
        if (c->n_gids >= 0) {
                for (int i = 0; i < c->n_gids; i++)
                        if (c->gids[i] == gid)
                                return true;
                return false;
        }

        /* The transport did not say: the account's configured groups. */
        struct passwd *pw = getpwuid(c->euid);
        gid_t list[256];
        int count = (int) ELEMENTSOF(list);

        if (!pw || getgrouplist(pw->pw_name, pw->pw_gid, list, &count) < 0)
                return false;
        for (int i = 0; i < count; i++)
                if (list[i] == gid)
                        return true;
        return false;
}

/* What the bus vouches for about the sender of @msg, into @p. */
static int ask_bus(sd_bus_message *msg, BusPeer *p, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
        uint64_t from_proc;
        const gid_t *gids = NULL;
        int r, n = -1;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_GID |
                                      SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot learn who is calling: %m");
        from_proc = sd_bus_creds_get_augmented_mask(c);
        if (from_proc & (SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "The bus did not vouch for the caller's uid and pid.");
        r = sd_bus_creds_get_euid(c, &p->euid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot learn the caller's uid: %m");
        p->pid = 0;
        (void) sd_bus_creds_get_pid(c, &p->pid);
        p->gid_known = !(from_proc & SD_BUS_CREDS_GID) && sd_bus_creds_get_gid(c, &p->gid) >= 0;
        if (!(from_proc & SD_BUS_CREDS_SUPPLEMENTARY_GIDS))
                n = sd_bus_creds_get_supplementary_gids(c, &gids);
        free(p->gids);
        p->gids = NULL;
        p->n_gids = -1;
        if (n > 0) {
                p->gids = reallocarray(NULL, (size_t) n, sizeof(gid_t));
                if (!p->gids)
                        return -ENOMEM;
                memcpy(p->gids, gids, (size_t) n * sizeof(gid_t));
        }
        p->n_gids = n >= 0 ? n : -1;
        p->creds_known = true;
        return 0;
}

int bouncer_identify(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error) {
        const DirectPeer *d = direct_peer_of(&m->direct, sd_bus_message_get_bus(msg));
        const char *sender = sd_bus_message_get_sender(msg);
        BusPeer *p;
        int r;

        if (d) {
                *ret = (Caller) { .euid = d->uid, .pid = d->pid, .gid_known = true, .gid = d->gid, .gids = d->gids,
                                  .n_gids = d->n_gids, .pidfd = d->pidfd, .start_time = d->start_time,
                                  .connected = d->accepted, .direct = true };
                return 0;
        }
        /* The bus: asked once per connection, while the daemon follows connections leaving. */
        if (sender && m->peers.slot)
                p = bus_peers_get(&m->peers, sender);
        else {
                /* Nothing tells when it leaves (a test's peer-to-peer bus): asked for this call only. */
                p = &m->peers.scratch;
                p->creds_known = false;
        }
        if (!p)
                return -ENOMEM;
        if (!p->creds_known) {
                r = ask_bus(msg, p, error);
                if (r < 0)
                        return r;
        }
        *ret = (Caller) { .euid = p->euid, .pid = p->pid, .gid_known = p->gid_known, .gid = p->gid, .gids = p->gids,
                          .n_gids = p->n_gids, .pidfd = -EBADF,
                          .connected = sender ? bus_peers_appeared(&m->peers, sender) : m->peers.watch_started };
        return 0;
}

int bouncer_authorize(Manager *m, const char *member, const Caller *c, sd_bus_error *error) {
        struct group *gr;

        if (c->euid == 0 || policy_of(member ?: "") == POLICY_ANYONE)
                return 0;
        if (policy_of(member ?: "") == POLICY_LEASE) {
                gr = getgrnam(m->config.group);
                if (gr && in_group(c, gr->gr_gid))
                        return 0;
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s is for root and members of group '%s'.", member, m->config.group);
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s is for root only.", member ?: "This");
}

int bouncer_check(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error) {
        Caller c;
        int r;

        /* Who asks does not matter: no round trip to the bus to learn it. */
        if (!ret && policy_of(sd_bus_message_get_member(msg) ?: "") == POLICY_ANYONE)
                return 0;
        r = bouncer_identify(m, msg, &c, error);
        if (r < 0)
                return r;
        if (ret)
                *ret = c;
        return bouncer_authorize(m, sd_bus_message_get_member(msg), &c, error);
}

void bus_peers_done(BusPeers *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->peers[i].name);
                free(p->peers[i].gids);
        }
        free(p->scratch.gids);
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
                        free(found->gids);
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
        p->peers[p->n] = (BusPeer) { .name = strdup(name), .appeared = when, .n_gids = -1 };
        if (!p->peers[p->n].name)
                return -ENOMEM;
        p->n++;
        return 0;
}

BusPeer *bus_peers_get(BusPeers *p, const char *name) {
        BusPeer *found = bus_peers_find(p, name);

        if (found)
                return found;
        if (bus_peers_note(p, name, p->watch_started ?: 1) < 0)
                return NULL;
        return &p->peers[p->n - 1];
}

uint64_t bus_peers_appeared(const BusPeers *p, const char *name) {
        const BusPeer *found = bus_peers_find(p, name);

        return found ? found->appeared : p->watch_started;
}

int bus_peers_fill(BusPeers *p, const char *name, sd_bus_message *reply) {
        BusPeer *e = bus_peers_find(p, name);
        uint32_t uid = UINT32_MAX, pid = 0;
        _cleanup_free_ gid_t *gids = NULL;
        int r, n = -1;

        if (!e || e->creds_known)
                return 0;       /* gone meanwhile, or asked by a call already */
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                if (strcmp(key, "UnixUserID") == 0)
                        r = sd_bus_message_read(reply, "v", "u", &uid);
                else if (strcmp(key, "ProcessID") == 0)
                        r = sd_bus_message_read(reply, "v", "u", &pid);
                else if (strcmp(key, "UnixGroupIDs") == 0) {
                        const void *a;
                        size_t size;

                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r >= 0)
                                r = sd_bus_message_read_array(reply, 'u', &a, &size);
                        if (r >= 0) {
                                free(gids);
                                n = (int) (size / sizeof(uint32_t));
                                gids = n > 0 ? malloc(size) : NULL;
                                if (n > 0 && !gids)
                                        return -ENOMEM;
                                if (n > 0)
                                        memcpy(gids, a, size);
                                r = sd_bus_message_exit_container(reply);
                        }
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0 || uid == UINT32_MAX || pid == 0)
                return r < 0 ? r : -EBADMSG;    /* the call, when it comes, asks again */
        /* What ask_bus() keeps from sd-bus's reading of the same answer: no primary gid from the bus. */
        *e = (BusPeer) { .name = e->name, .appeared = e->appeared, .creds_known = true, .euid = (uid_t) uid,
                         .pid = (pid_t) pid, .gids = TAKE_PTR(gids), .n_gids = n };
        return 1;
}

typedef struct Prefetch {
        Manager *m;
        char name[];
} Prefetch;

static void prefetch_free(void *userdata) {
        Prefetch *f = userdata;

        f->m->peers.prefetching--;
        free(f);
}

static int on_prefetched(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Prefetch *f = userdata;

        (void) ret_error;
        if (bus_peers_fill(&f->m->peers, f->name, reply) == -ENOMEM)
                log_error("Out of memory while reading a connection's credentials: it will be asked again");
        return 0;
}

/*
 * A connection appeared: ask the bus who it is now, without waiting, so
 * that its first call finds the answer here and costs no second round
 * trip.  At most BUS_PREFETCH_MAX questions at once: beyond that a call
 * asks for itself.
 */
static void prefetch_creds(Manager *m, sd_bus *bus, const char *name) {
        _cleanup_free_ Prefetch *f = NULL;
        sd_bus_slot *slot = NULL;
        int r;

        if (m->peers.prefetching >= BUS_PREFETCH_MAX)
                return;
        f = malloc(sizeof(Prefetch) + strlen(name) + 1);
        if (!f)
                return;
        f->m = m;
        strcpy(f->name, name);
        r = sd_bus_call_method_async(bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionCredentials", on_prefetched, f, "s", name);
        if (r < 0)
                return;
        m->peers.prefetching++;
        (void) sd_bus_slot_set_destroy_callback(slot, prefetch_free);
        (void) sd_bus_slot_set_floating(slot, true);
        TAKE_PTR(f);
        sd_bus_slot_unref(slot);
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *sender = sd_bus_message_get_sender(msg), *name, *old_owner, *new_owner;

        (void) ret_error;
        /*
         * From dbus-daemon itself only: sd-bus cannot hold a match to a
         * well-known sender, and any client may send passthrud a signal
         * that looks like this one (forging when a connection appeared).
         */
        if (!sender || strcmp(sender, "org.freedesktop.DBus") != 0)
                return 0;
        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || name[0] != ':')
                return 0;
        /* A unique name is its own owner: (":1.5", "", ":1.5") and (":1.5", ":1.5", ""), nothing else. */
        if (new_owner[0] ? (old_owner[0] || strcmp(new_owner, name) != 0) : strcmp(old_owner, name) != 0)
                return 0;
        /* A unique name appears once and leaves once: ("", ":1.5") and (":1.5", ""). */
        if (bus_peers_note(&m->peers, name, new_owner[0] ? boottime_usec() : 0) < 0)
                log_error("Out of memory while following bus connections: callers may be refused");
        else if (new_owner[0])
                prefetch_creds(m, sd_bus_message_get_bus(msg), name);
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

int bouncer_pin(Manager *m, sd_bus_message *msg, Caller *caller, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(msg);
        int pidfd;

        assert(m);
        assert(msg);

        if (caller->direct) {
                /* Pinned when it connected; the lease takes a copy, if it still lives. */
                if (!pidfd_running(caller->pidfd))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "The process that connected (pid %u) has exited: a connection "
                                                 "passed on leases nothing.", (unsigned) caller->pid);
                pidfd = fcntl(caller->pidfd, F_DUPFD_CLOEXEC, 3);
                if (pidfd < 0)
                        return sd_bus_error_set_errnof(error, errno, "Cannot keep the caller's pidfd: %m");
                return pidfd;
        }
        if (caller->pid <= 0 || !sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The bus did not say which process is calling.");
        pidfd = process_pin(caller->pid, caller->connected, &caller->start_time);
        if (pidfd == -ESTALE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Process %u started after bus connection %s appeared: it cannot be the "
                                         "process that made it (its pid was reused).", (unsigned) caller->pid, sender);
        if (pidfd == -ESRCH)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "The calling process %u exited during the call.", (unsigned) caller->pid);
        if (pidfd < 0)
                return sd_bus_error_set_errnof(error, -pidfd, "Cannot pin the calling process %u: %m",
                                               (unsigned) caller->pid);
        return pidfd;
}

bool bouncer_is_process(Manager *m, sd_bus_message *msg, Caller *caller, pid_t pid, uint64_t start_time) {
        _cleanup_close_ int pidfd = -EBADF;

        if (caller->pid != pid)
                return false;
        pidfd = bouncer_pin(m, msg, caller, NULL);
        return pidfd >= 0 && caller->start_time == start_time;
}
