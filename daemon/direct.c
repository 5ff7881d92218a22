/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passthrud's own socket: see direct.h. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>
#include <inttypes.h>
#include <sys/epoll.h>

#include "direct.h"
#include "direct-relay.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-names.h"
#include "process.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77         /* Linux 6.5; older kernels answer ENOPROTOOPT */
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83        /* Linux 6.16; older kernels answer ENOPROTOOPT */
#endif

static DirectPeer *direct_peer_free(DirectPeer *p) {
        if (!p)
                return NULL;
        relay_free(p->relay);
        if (p->bus) {
                (void) sd_bus_detach_event(p->bus);
                /* No flush: a peer dropped for not reading would block the loop. */
                sd_bus_close_unref(p->bus);
        }
        safe_close(p->pidfd);
        free(p->gids);
        free(p);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DirectPeer *, direct_peer_free);

void direct_done(Direct *d) {
        for (size_t i = 0; i < d->n_peers; i++)
                direct_peer_free(d->peers[i]);
        free(d->peers);
        sd_event_source_disable_unref(d->listen_source);
        sd_event_source_disable_unref(d->accept_pause);
        sd_event_source_disable_unref(d->police);
        sd_event_source_disable_unref(d->stall_timer);
        safe_close(d->listen_fd);
        if (d->bound)
                (void) unlink(d->bound);
        free(d->bound);
        *d = (Direct) { .listen_fd = -EBADF };
}

const DirectPeer *direct_peer_of(const Direct *d, sd_bus *bus) {
        for (size_t i = 0; bus && i < d->n_peers; i++)
                if (d->peers[i]->bus == bus)
                        return d->peers[i];
        return NULL;
}

sd_bus *direct_bus_nth(const Direct *d, size_t i) {
        for (size_t k = 0; k < d->n_peers; k++)
                if (!d->peers[k]->dead && i-- == 0)
                        return d->peers[k]->bus;
        return NULL;
}

/*
 * A refusal is logged at most once every 10 s, with the number not logged
 * since: a client hammering a full socket must not flood the journal.
 */
static void log_refusal(Direct *d, pid_t pid, uid_t uid, const char *why) {
        uint64_t now = boottime_usec();

        if (d->last_refusal_logged && now - d->last_refusal_logged < 10 * 1000000ULL) {
                d->refusals_unlogged++;
                return;
        }
        if (pid > 0)
                log_warning("Refused a direct connection of pid %u (uid %u): %s (%u more refused in the last 10 s)",
                            (unsigned) pid, (unsigned) uid, why, d->refusals_unlogged);
        else
                log_warning("Refused a direct connection: %s (%u more refused in the last 10 s)", why,
                            d->refusals_unlogged);
        d->last_refusal_logged = now;
        d->refusals_unlogged = 0;
}

/*
 * No method takes an fd: the kernel refuses them to the sender (EPERM) where
 * it can (SO_PASSRIGHTS, Linux 6.16); an accepted socket inherits it from
 * the listening one.  Elsewhere the relay drops a connection that sends one
 * (direct-relay.c), and closes the fds it got.
 */
static void refuse_fds(const Direct *d, int fd) {
        int zero = 0;

        if (!d->fds_passable)
                (void) setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &zero, sizeof(zero));
}

/*
 * What the kernel keeps for a client that does not read: sd-bus raised the
 * socket's send buffer to 8 MiB (SO_SNDBUFFORCE, as root) when it started.
 * Back down, the kernel holds at most about twice this per connection (it
 * doubles the value, within net.core.wmem_max) besides what sd-bus queues
 * before police() drops it (direct.h); a
 * client that reads its answers is not slowed by it (GetManagedObjects of
 * a host with 200 devices is about 190 KiB).
 */
#define DIRECT_SNDBUF (256 * 1024)

/* SO_PEERGROUPS: the peer's supplementary groups at connect(). */
static int peer_groups(int fd, gid_t **ret, int *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_free_ gid_t *g = malloc(len ?: sizeof(gid_t));

                if (!g)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) >= 0) {
                        *ret_n = (int) (len / sizeof(gid_t));
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                if (errno != ERANGE)
                        return -errno;
                /* len now says how much is needed. */
        }
        return -ERANGE;
}

/*
 * The peer's pidfd: from the kernel (SO_PEERPIDFD, the connecting process
 * itself), or pidfd_open() of the SO_PEERCRED pid, proved to be the process
 * that connected: one that started after the connection was accepted holds
 * a recycled pid.
 */
static int peer_pidfd(int fd, pid_t pid, uint64_t accepted, uint64_t *ret_start_time) {
        _cleanup_close_ int pidfd = -EBADF;
        socklen_t len = sizeof(int);
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) >= 0 && pidfd >= 0) {
                /* Its start time too: a Release is told from the holder's by it (bouncer_is_process()). */
                r = pidfd_start_time(pidfd, pid, ret_start_time);
                return r < 0 ? r : TAKE_FD(pidfd);
        }
        /* A kernel with SO_PEERPIDFD says EINVAL for a peer that has exited: not a pid to look up again. */
        if (errno == EINVAL)
                return -ESRCH;
        if (errno != ENOPROTOOPT && errno != EOPNOTSUPP)
                return -errno;
        return process_pin(pid, accepted, ret_start_time);
}

/* The relay refused the connection (@why), or saw it gone (NULL). */
static void on_relay_stopped(void *userdata, const char *why) {
        DirectPeer *p = userdata;

        if (why)
                log_refusal(p->owner, p->pid, p->uid, why);
        p->dead = true;         /* freed by police() */
        (void) sd_bus_detach_event(p->bus);
}

/*
 * The connection's relay (direct-relay.h): sd-bus reads our socket pair's
 * other end, and writes to the connection's socket @fd itself; the relay
 * reads @fd (a dup of it: the loop watches one for each).  Takes @fd.
 */
static int peer_relay(Manager *m, DirectPeer *p, int fd) {
        _cleanup_close_ int sock = fd, client = -EBADF, ours = -EBADF, theirs = -EBADF;
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        ours = pair[0];
        theirs = pair[1];
        client = fcntl(sock, F_DUPFD_CLOEXEC, 3);
        if (client < 0)
                return -errno;
        r = sd_bus_set_fd(p->bus, theirs, sock);
        if (r < 0)
                return r;
        theirs = sock = -EBADF;         /* the bus's now */
        return relay_new(m->event, TAKE_FD(client), TAKE_FD(ours), p->bus, on_relay_stopped, p, &p->relay);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        DirectPeer *p = userdata;

        (void) msg;
        (void) error;
        p->dead = true;         /* freed by police() once this dispatch is over */
        return 0;
}

/*
 * Whether @p stopped reading: more than DIRECT_QUEUE_MAX messages wait for
 * it, or its queue has not been empty for DIRECT_STALL_USEC (it is noted
 * in @p->stalled_since at @now; when it is up, into @next if earlier).
 */
static bool peer_stalled(DirectPeer *p, uint64_t now, uint64_t *next) {
        uint64_t queued = 0;

        if (sd_bus_get_n_queued_write(p->bus, &queued) < 0 || queued == 0) {
                p->stalled_since = 0;
                return false;
        }
        if (queued > DIRECT_QUEUE_MAX) {
                log_warning("Dropped the direct connection of pid %u (uid %u): %" PRIu64 " messages wait "
                            "for it, it does not read them (its leases stay)",
                            (unsigned) p->pid, (unsigned) p->uid, queued);
                return true;
        }
        if (p->stalled_since == 0)
                p->stalled_since = now;
        if (now - p->stalled_since >= DIRECT_STALL_USEC) {
                log_warning("Dropped the direct connection of pid %u (uid %u): what was sent to it has waited "
                            "%" PRIu64 " s, it does not read (its leases stay)",
                            (unsigned) p->pid, (unsigned) p->uid, (now - p->stalled_since) / 1000000);
                return true;
        }
        if (*next == 0 || p->stalled_since + DIRECT_STALL_USEC < *next)
                *next = p->stalled_since + DIRECT_STALL_USEC;
        return false;
}

/* After each event: let relays go on, free the dead, drop those that stopped reading. */
static int police(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        Direct *d = &m->direct;
        uint64_t now = 0, next = 0;
        size_t w = 0;

        (void) s;
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < d->n_peers; i++) {
                DirectPeer *p = d->peers[i];

                /* sd-bus may have gone past the authentication, or taken and answered a call (direct-relay.h). */
                if (!p->dead)
                        relay_poke(p->relay);
                if (!p->dead && peer_stalled(p, now, &next))
                        p->dead = true;
                if (p->dead)
                        direct_peer_free(p);
                else
                        d->peers[w++] = p;
        }
        d->n_peers = w;
        /* A stalled connection may see no event of its own: the timer brings police() back. */
        if (next > 0 && sd_event_source_set_time(d->stall_timer, next) >= 0)
                (void) sd_event_source_set_enabled(d->stall_timer, SD_EVENT_ONESHOT);
        return 0;
}

static int on_stall_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        (void) userdata;
        return 0;       /* police() runs after it */
}

/*
 * A call to the bus daemon's own interface (Hello first, then AddMatch,
 * ListNames, ...) comes from a tool that takes any address for a bus:
 * `gdbus call --address` and `busctl --address` say Hello before anything
 * else.  There is no bus here: the answer says so and what works instead,
 * rather than sd-bus's "Unknown object '/org/freedesktop/DBus'".
 */
static int on_bus_daemon_call(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        (void) userdata;
        (void) error;
        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus", NULL))
                return 0;
        (void) sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_NOT_SUPPORTED,
                                          "This is passthrud's own socket: peer-to-peer D-Bus, no bus daemon, so no "
                                          "org.freedesktop.DBus.%s. Call org.passthru1 on it without Hello "
                                          "(dbus-send --peer=ADDRESS, or a D-Bus library's peer-to-peer "
                                          "connection: docs/direct.md), or use the system bus",
                                          sd_bus_message_get_member(msg) ?: "?");
        return 1;
}

static int peer_new(Manager *m, int fd, DirectPeer **ret) {
        _cleanup_(direct_peer_freep) DirectPeer *p = NULL;
        Direct *d = &m->direct;
        struct ucred uc = {};
        socklen_t len = sizeof(uc);
        unsigned same_uid = 0, live = 0;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
                r = -errno;
                safe_close(fd);
                return log_warning_errno(r, "Refused a direct connection: cannot read its credentials: %m");
        }
        /*
         * Root's connections are not counted in the total, nor held to it:
         * users who fill the socket must not lock root out of it (root's
         * are held to MaxConnectionsPerUser= as anyone's).
         */
        for (size_t i = 0; i < d->n_peers; i++)
                if (!d->peers[i]->dead) {
                        live += d->peers[i]->uid != 0;
                        same_uid += d->peers[i]->uid == uc.uid;
                }
        if ((uc.uid != 0 && live >= m->config.max_connections) || same_uid >= m->config.max_connections_per_user) {
                safe_close(fd);
                log_refusal(d, uc.pid, uc.uid,
                            same_uid >= m->config.max_connections_per_user ? "MaxConnectionsPerUser= reached for its uid"
                                                                            : "MaxConnections= reached");
                return -EUSERS;
        }

        p = calloc(1, sizeof(*p));
        if (!p) {
                safe_close(fd);
                return -ENOMEM;
        }
        *p = (DirectPeer) { .uid = uc.uid, .gid = uc.gid, .pid = uc.pid, .n_gids = -1, .pidfd = -EBADF,
                            .accepted = boottime_usec(), .owner = d };
        r = peer_groups(fd, &p->gids, &p->n_gids);
        if (r < 0 && r != -ENOPROTOOPT) {
                safe_close(fd);
                return log_warning_errno(r, "Refused a direct connection of pid %u: cannot read its groups: %m",
                                         (unsigned) uc.pid);
        }
        p->pidfd = peer_pidfd(fd, uc.pid, p->accepted, &p->start_time);
        if (p->pidfd < 0) {
                r = p->pidfd;
                safe_close(fd);
                if (r == -ESRCH || r == -ESTALE) {
                        /* A client that connects and exits at once, again and again: not every time. */
                        log_refusal(d, uc.pid, uc.uid, "the process that connected is gone");
                        return r;
                }
                return log_warning_errno(r, "Refused a direct connection of pid %u: cannot pin it: %m",
                                         (unsigned) uc.pid);
        }

        /* SO_PASSRIGHTS on this socket too: one accepted before the listening socket said it. */
        refuse_fds(d, fd);
        r = sd_bus_new(&p->bus);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        (void) sd_bus_set_description(p->bus, "direct");
        r = peer_relay(m, p, fd);
        if (r < 0)
                return log_warning_errno(r, "Refused a direct connection of pid %u: cannot relay it: %m",
                                         (unsigned) uc.pid);
        r = sd_bus_set_server(p->bus, 1, d->server_id);
        /*
         * sd-bus's server checks the uid a client names in AUTH EXTERNAL
         * against the peer of its input, which is now our socket pair (that
         * is, passthrud's own uid): it is told to take any (anonymous).  Who
         * calls was read from the connection's socket above, and it is all
         * bouncer.c asks of a direct connection (direct_peer_of()), never the
         * bus's credentials of a message.
         */
        if (r >= 0)
                r = sd_bus_set_anonymous(p->bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(p->bus, true);
        if (r >= 0)
                r = sd_bus_set_sender(p->bus, PT_BUS_NAME);
        if (r >= 0)
                r = sd_bus_start(p->bus);
        if (r >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int) { DIRECT_SNDBUF }, sizeof(int)) < 0)
                r = -errno;
        if (r >= 0)
                r = sd_bus_attach_event(p->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal(p->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, p);
        if (r >= 0)
                r = sd_bus_add_filter(p->bus, NULL, on_bus_daemon_call, NULL);
        if (r >= 0)
                r = manager_bus_add_objects(m, p->bus);
        if (r < 0)
                return log_warning_errno(r, "Cannot serve the direct connection of pid %u: %m", (unsigned) uc.pid);
        *ret = TAKE_PTR(p);
        return 0;
}

static int on_accept_again(sd_event_source *s, uint64_t usec, void *userdata) {
        Direct *d = userdata;

        (void) s;
        (void) usec;
        (void) sd_event_source_set_enabled(d->listen_source, SD_EVENT_ON);
        return 0;
}

/*
 * accept() failed for want of fds or memory: the connection stays in the
 * backlog and the socket readable, and the loop would spin on it.  Not
 * listened to for a second; logged as a refusal (at most every 10 s).
 * The timer exists already (direct_start()): making one could take an fd.
 */
static void pause_accepting(Direct *d, int error) {
        log_refusal(d, 0, 0, error == EMFILE || error == ENFILE ? "passthrud has no fd left for it"
                                                                : "passthrud has no memory left for it");
        if (sd_event_source_set_time_relative(d->accept_pause, 1000000ULL) >= 0 &&
            sd_event_source_set_enabled(d->accept_pause, SD_EVENT_ONESHOT) >= 0)
                (void) sd_event_source_set_enabled(d->listen_source, SD_EVENT_OFF);
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        Direct *d = &m->direct;
        DirectPeer *p = NULL, **a;
        int cfd;

        (void) s;
        (void) revents;
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        pause_accepting(d, errno);
                else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning("Cannot accept a direct connection: %m");
                return 0;
        }
        a = reallocarray(d->peers, d->n_peers + 1, sizeof(DirectPeer *));
        if (!a) {
                safe_close(cfd);
                return 0;
        }
        d->peers = a;
        if (peer_new(m, cfd, &p) < 0 || !p)
                return 0;       /* logged, and closed */
        d->peers[d->n_peers++] = p;
        return 0;
}

/* Bind @path ourselves: passthrud started by hand, not by passthrud.socket. */
static int bind_socket(Direct *d, const char *path, const char *group) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        struct group *gr;
        struct stat st;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A stale socket of an earlier run goes; anything else there stays, and so do we. */
        if (lstat(path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                if (unlink(path) < 0)
                        return -errno;
        }
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        d->bound = strdup(path);
        if (!d->bound)
                return -ENOMEM;
        gr = getgrnam(group);
        if (chmod(path, gr ? 0660 : 0600) < 0 || (gr && chown(path, (uid_t) -1, gr->gr_gid) < 0))
                return -errno;
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/*
 * The socket systemd made has passthrud.socket's group (passthru); who may
 * connect is Group= of passthru.conf: the socket follows it.
 */
static void passed_socket_follow_group(int fd, const char *group) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa) - 1;         /* room for a NUL after the path */
        struct group *gr;
        struct stat st;

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 || sa.sun_family != AF_UNIX || !sa.sun_path[0])
                return;
        gr = getgrnam(group);
        if (!gr) {
                log_warning("There is no group '%s' (Group=): %s keeps the group its socket unit gave it", group,
                            sa.sun_path);
                return;
        }
        if (stat(sa.sun_path, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_gid == gr->gr_gid)
                return;
        if (chown(sa.sun_path, (uid_t) -1, gr->gr_gid) < 0)
                log_warning_errno(-errno, "Cannot give %s to group '%s' (Group=): %m", sa.sun_path, group);
        else
                log_info("%s now belongs to group '%s' (Group= of passthru.conf)", sa.sun_path, group);
}

int direct_start(Manager *m, const char *path, const char *group) {
        Direct *d = &m->direct;
        int n, r;

        d->listen_fd = -EBADF;
        n = sd_listen_fds(true);
        if (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) > 0) {
                d->listen_fd = SD_LISTEN_FDS_START;
                passed_socket_follow_group(d->listen_fd, group);
        } else if (n > 0)
                log_warning("Ignoring the %d fds systemd passed: expected one listening AF_UNIX stream socket", n);
        if (d->listen_fd < 0 && !path)
                return 0;
        if (d->listen_fd < 0) {
                d->listen_fd = bind_socket(d, path, group);
                if (d->listen_fd < 0) {
                        r = d->listen_fd;
                        d->listen_fd = -EBADF;
                        return log_warning_errno(r, "No direct socket at %s (callers use the system bus): %m", path);
                }
        }
        refuse_fds(d, d->listen_fd);
        r = sd_id128_randomize(&d->server_id);
        if (r >= 0)
                r = sd_event_add_io(m->event, &d->listen_source, d->listen_fd, EPOLLIN, on_connection, m);
        if (r >= 0)
                r = sd_event_add_post(m->event, &d->police, police, m);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &d->accept_pause, CLOCK_MONOTONIC, 1000000ULL, 0,
                                               on_accept_again, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->accept_pause, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &d->stall_timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_stall_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->stall_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_warning_errno(r, "No direct socket (callers use the system bus): %m");
        log_info("Serving the direct socket%s%s", d->bound ? " at " : " passed by systemd", d->bound ?: "");
        return 0;
}
