/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The direct socket (daemon/direct.c) with real sd-bus on a real socket: a
 * manager on a fake sysfs serves it, a child process is the client (its
 * own pid, and as root another uid), and the test's event loop runs the
 * daemon's side.  Who calls is read from the socket; the bus's rules apply;
 * the caps refuse; a client that never reads is dropped; signals reach it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include "fake-manager.h"
#include "fake-sysfs.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-direct.h"
#include "passthru-names.h"
#include "process.h"
#include "state.h"
#include "strv.h"
#include "worker.h"

#define D1 "0000:01:00.0"

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

typedef struct Fx {
        char *root, *socket;
        FakeManagerPaths paths;
        Manager *m;
        sd_event *event;
        bool direct_seen;
} Fx;

static int fx_setup(void **state) {
        Fx *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        fx->root = fake_sysfs_new();
        fake_manager_paths(fx->root, &fx->paths);
        fx->socket = fx->paths.direct_socket;
        fake_pci_add(fx->root, &(FakePci) { .address = D1, .driver = "passthru", .iommu_group = 1 });
        assert_int_equal(manager_new(&fx->paths.paths, &fx->m), 0);
        assert_int_equal(manager_load(fx->m), 0);
        assert_int_equal(sd_event_new(&fx->event), 0);
        fx->m->event = sd_event_ref(fx->event);
        *state = fx;
        return 0;
}

static int fx_teardown(void **state) {
        Fx *fx = *state;

        /* A return started by a Release is told back before the manager goes (its done frees the job). */
        for (int i = 0; i < 200 && fx->m->worker && worker_pending(fx->m->worker) > 0; i++)
                (void) sd_event_run(fx->event, 50000);
        manager_free(fx->m);
        sd_event_unref(fx->event);
        fake_manager_paths_free(&fx->paths);
        fake_sysfs_free(fx->root);
        free(fx);
        return 0;
}

/* The group the test runs in, by name: Acquire's and Release's group. */
static const char *own_group(void) {
        struct group *gr = getgrgid(getegid());

        assert_non_null(gr);
        return gr->gr_name;
}

static void fx_start(Fx *fx) {
        assert_int_equal(direct_start(fx->m, fx->socket, own_group()), 0);
        assert_true(fx->m->direct.listen_fd >= 0);
}

/* As root, the socket and the directories above it open to any uid (a child as nobody connects). */
static void open_the_socket_to_anyone(Fx *fx) {
        _cleanup_free_ char *run = fake_path(fx->root, "run");

        if (geteuid() != 0)
                return;
        assert_int_equal(chmod(fx->root, 0755), 0);
        assert_int_equal(chmod(run, 0755), 0);
        assert_int_equal(chmod(fx->socket, 0666), 0);
}

/* ---- the client, in a child; it reports on a pipe ---- */

static int client_connect(const char *path, sd_bus **ret) {
        return pt_direct_open(path, ret);
}

/* Call a method of the manager object with one string argument (or none); "ok" or the error's name, into @out. */
static void client_call(sd_bus *bus, const char *interface, const char *method, const char *arg, char *out,
                        size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (arg)
                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, interface, method, &error, &reply, "s", arg);
        else
                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, interface, method, &error, &reply, NULL);
        snprintf(out, size, "%s", r >= 0 ? "ok" : error.name ?: strerror(-r));
}

typedef struct Child {
        pid_t pid;
        int report;     /* read end: what the child says */
        int go;         /* write end: tell the child to go on */
} Child;

/* Run @fn(@arg, report fd, go fd) in a child, as @uid (when root and uid != -1). */
static Child child_run(void (*fn)(const char *arg, int report, int go), const char *arg, uid_t uid) {
        int rep[2], go[2];
        pid_t parent = getpid();
        Child c;

        assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        c.pid = fork();
        assert_true(c.pid >= 0);
        if (c.pid == 0) {
                /*
                 * A child outlives no test binary: one left behind by a failed
                 * assertion would hold tests/unit/run.sh's pipe open for good.
                 */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(4);
                close(rep[0]);
                close(go[1]);
                if (uid != (uid_t) -1 && geteuid() == 0 &&
                    (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
                        _exit(3);
                fn(arg, rep[1], go[0]);
                _exit(0);
        }
        close(rep[1]);
        close(go[0]);
        c.report = rep[0];
        c.go = go[1];
        return c;
}

/* Run the daemon's loop until the child's report line arrives (or 10 s); returns it. */
static char *child_report(Fx *fx, Child *c) {
        static char line[512];
        size_t n = 0;

        for (uint64_t end = boottime_usec() + 10 * 1000000ULL; boottime_usec() < end;) {
                struct pollfd p = { .fd = c->report, .events = POLLIN };

                assert_true(sd_event_run(fx->event, 5000) >= 0);
                if (poll(&p, 1, 0) == 1) {
                        ssize_t k = read(c->report, line + n, sizeof(line) - 1 - n);

                        if (k <= 0)
                                break;
                        n += (size_t) k;
                        line[n] = '\0';
                        if (strchr(line, '\n'))
                                return line;
                }
        }
        line[n] = '\0';
        return line;
}

/* The child's report once it holds @lines lines (a child may write them one at a time), or what came in 10 s. */
static char *child_report_lines(Fx *fx, Child *c, unsigned lines) {
        static char text[1024];
        size_t n = 0;
        unsigned seen = 0;

        text[0] = '\0';
        while (seen < lines && n < sizeof(text) - 1) {
                const char *more = child_report(fx, c);

                if (!*more)
                        break;
                n += (size_t) snprintf(text + n, sizeof(text) - n, "%s", more);
                if (n > sizeof(text) - 1)
                        n = sizeof(text) - 1;   /* cut */
                for (const char *i = more; *i; i++)
                        seen += *i == '\n';
        }
        return text;
}

/* Let the child go on, run the loop until it exits; its exit status. */
static int child_finish(Fx *fx, Child *c) {
        int status = -1;

        close(c->go);
        for (uint64_t end = boottime_usec() + 10 * 1000000ULL; boottime_usec() < end;) {
                if (waitpid(c->pid, &status, WNOHANG) == c->pid)
                        break;
                assert_true(sd_event_run(fx->event, 5000) >= 0);
        }
        close(c->report);
        /* The loop sees the disconnect: the connection is freed. */
        for (int i = 0; i < 20; i++)
                (void) sd_event_run(fx->event, 1000);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void say(int fd, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        assert_true(write(fd, buf, strlen(buf)) > 0);
}

static void wait_go(int go) {
        char c;

        (void) read(go, &c, 1);
}

/* ---- cases ---- */

/*
 * GetManagedObjects (anyone's), then Release: in the group it is refused for
 * what it is ("not leased"), outside it for who.
 */
static void client_lists_and_releases(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        char list[128] = "connect failed", release[128] = "";

        if (client_connect(path, &bus) >= 0) {
                client_call(bus, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, list, sizeof(list));
                client_call(bus, PT_MANAGER_INTERFACE, "Release", D1, release, sizeof(release));
        }
        say(report, "%s %s\n", list, release);
        wait_go(go);
}

static void a_caller_is_known_from_the_socket(void **state) {
        Fx *fx = *state;
        const DirectPeer *p;
        Child c;
        char *line;

        /* The group the test runs in is the one for Acquire and Release. */
        free(fx->m->config.group);
        fx->m->config.group = strdup(own_group());
        assert_non_null(fx->m->config.group);
        fx_start(fx);
        c = child_run(client_lists_and_releases, fx->socket, (uid_t) -1);
        line = child_report(fx, &c);
        /* A member's Release passes the bouncer and meets the device: not leased (a plain Failed). */
        assert_string_equal(line, "ok " SD_BUS_ERROR_FAILED "\n");
        assert_int_equal(fx->m->direct.n_peers, 1);
        p = fx->m->direct.peers[0];
        assert_int_equal(p->pid, c.pid);
        assert_int_equal(p->uid, geteuid());
        assert_true(p->pidfd >= 0);
        assert_true(p->n_gids >= 0);
        assert_ptr_equal(direct_peer_of(&fx->m->direct, p->bus), p);
        assert_int_equal(child_finish(fx, &c), 0);
        assert_int_equal(fx->m->direct.n_peers, 0);
}

/*
 * What `gdbus call --address` and `busctl --address` send first: Hello, as
 * to a bus; then AddMatch, as a monitor would; then a Ping of passthrud's.
 */
static void client_says_hello(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        char out[3][512] = { "connect failed", "", "" };
        static const char * const calls[][2] = { { "Hello", NULL }, { "AddMatch", "type='signal'" } };

        if (client_connect(path, &bus) >= 0)
                for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        int r;

                        if (calls[i][1])
                                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                       "org.freedesktop.DBus", calls[i][0], &error, NULL, "s",
                                                       calls[i][1]);
                        else
                                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                       "org.freedesktop.DBus", calls[i][0], &error, NULL, NULL);
                        snprintf(out[i], sizeof(out[i]), "%s|%s", r >= 0 ? "ok" : error.name ?: strerror(-r),
                                 error.message ?: "");
                }
        if (bus)
                client_call(bus, "org.freedesktop.DBus.Peer", "Ping", NULL, out[2], sizeof(out[2]));
        for (size_t i = 0; i < ELEMENTSOF(out); i++)
                say(report, "%s\n", out[i]);
        wait_go(go);
}

/* There is no bus daemon on the socket: a tool that takes it for one is told so, and passthrud's objects still answer. */
static void hello_is_answered_that_this_is_no_bus(void **state) {
        Fx *fx = *state;
        Child c;
        char *text;

        fx_start(fx);
        c = child_run(client_says_hello, fx->socket, (uid_t) -1);
        text = child_report_lines(fx, &c, 3);
        assert_non_null(strstr(text, SD_BUS_ERROR_NOT_SUPPORTED "|This is passthrud's own socket: peer-to-peer "
                                     "D-Bus, no bus daemon, so no org.freedesktop.DBus.Hello."));
        assert_non_null(strstr(text, "\n" SD_BUS_ERROR_NOT_SUPPORTED "|"));
        assert_non_null(strstr(text, "no org.freedesktop.DBus.AddMatch. Call org.passthru1 on it without Hello"));
        assert_non_null(strstr(text, "\nok\n"));
        assert_int_equal(child_finish(fx, &c), 0);
}

static void a_stranger_is_refused_by_the_same_rules(void **state) {
        Fx *fx = *state;
        Child c;
        char *line;

        if (geteuid() != 0) {
                /* Not root: the stranger is this user, outside a group it is not in. */
                free(fx->m->config.group);
                fx->m->config.group = strdup("nosuchgroupforthistest");
                assert_non_null(fx->m->config.group);
        }
        fx_start(fx);
        /* Let nobody in, to be refused by the rules. */
        open_the_socket_to_anyone(fx);
        c = child_run(client_lists_and_releases, fx->socket, 65534);
        line = child_report(fx, &c);
        assert_string_equal(line, "ok " SD_BUS_ERROR_ACCESS_DENIED "\n");
        assert_int_equal(child_finish(fx, &c), 0);
}

static void client_enters_maintenance_mode(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        char enter[128] = "connect failed";

        if (client_connect(path, &bus) >= 0)
                client_call(bus, PT_MANAGER_INTERFACE, "EnterMaintenanceMode", NULL, enter, sizeof(enter));
        say(report, "%s\n", enter);
        wait_go(go);
}

/*
 * A method for root only, called over the socket by another user: refused.
 * sd-bus's own check of a caller's uid sees the relay's socket pair here
 * (passthrud's own uid), so the rule is bouncer.c's alone: it must hold.
 */
static void a_root_only_method_is_refused_to_another_user(void **state) {
        Fx *fx = *state;
        Child c;

        if (geteuid() != 0)
                skip();
        fx_start(fx);
        open_the_socket_to_anyone(fx);
        c = child_run(client_enters_maintenance_mode, fx->socket, 65534);
        assert_string_equal(child_report(fx, &c), SD_BUS_ERROR_ACCESS_DENIED "\n");
        assert_int_equal(child_finish(fx, &c), 0);
        assert_false(fx->m->state.maintenance);
}

/* Open connections one after the other, each proved with a Ping; say which worked. */
static void client_opens_three(const char *path, int report, int go) {
        sd_bus *buses[3] = {};
        char out[64] = "";

        for (int i = 0; i < 3; i++) {
                int r = client_connect(path, &buses[i]);

                if (r >= 0)
                        r = sd_bus_call_method(buses[i], PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                                               "Ping", NULL, NULL, NULL);
                strcat(out, r >= 0 ? "ok " : "refused ");
        }
        say(report, "%s\n", out);
        wait_go(go);
        for (int i = 0; i < 3; i++)
                sd_bus_close_unref(buses[i]);
}

/* With the caps at @total and @per_user, three connections of one user (@uid, -1: ours): which were let in. */
static void check_caps(Fx *fx, unsigned total, unsigned per_user, uid_t uid, const char *expected) {
        Child c;

        fx->m->config.max_connections = total;
        fx->m->config.max_connections_per_user = per_user;
        fx_start(fx);
        open_the_socket_to_anyone(fx);
        c = child_run(client_opens_three, fx->socket, uid);
        assert_string_equal(child_report(fx, &c), expected);
        assert_int_equal(child_finish(fx, &c), 0);
        assert_int_equal(fx->m->direct.n_peers, 0);
}

static void connections_over_the_cap_per_user_are_refused(void **state) {
        check_caps(*state, 10, 2, (uid_t) -1, "ok ok refused \n");
}

/* A user's connections over the total (as root, nobody's: root's are not counted in it). */
static void connections_over_the_cap_in_total_are_refused(void **state) {
        check_caps(*state, 1, 10, geteuid() == 0 ? 65534 : (uid_t) -1, "ok refused refused \n");
}

/* Users who fill the socket do not lock root out: its connections are held to the per-user cap only. */
static void root_gets_in_past_the_total(void **state) {
        Fx *fx = *state;
        Child users, root;

        if (geteuid() != 0) {
                skip();
                return;
        }
        fx->m->config.max_connections = 3;
        fx->m->config.max_connections_per_user = 3;
        fx_start(fx);
        open_the_socket_to_anyone(fx);
        users = child_run(client_opens_three, fx->socket, 65534);
        assert_string_equal(child_report(fx, &users), "ok ok ok \n");
        root = child_run(client_opens_three, fx->socket, (uid_t) -1);
        assert_string_equal(child_report(fx, &root), "ok ok ok \n");
        assert_int_equal(fx->m->direct.n_peers, 6);
        assert_int_equal(child_finish(fx, &root), 0);
        assert_int_equal(child_finish(fx, &users), 0);
        assert_int_equal(fx->m->direct.n_peers, 0);
}

/* tests/tools/pt-flood: calls, never an answer read (a client library would read them). */
static void client_never_reads(const char *path, int report, int go) {
        (void) go;
        if (dup2(report, STDOUT_FILENO) < 0)
                _exit(2);
        execl("build/pt-flood", "pt-flood", path, NULL);
        _exit(2);
}

/* pt-flood SOCKET 0: a connection that authenticates and then only stays. */
static void client_only_stays(const char *path, int report, int go) {
        (void) go;
        if (dup2(report, STDOUT_FILENO) < 0)
                _exit(2);
        execl("build/pt-flood", "pt-flood", path, "0", NULL);
        _exit(2);
}

/* The daemon suite's way to fill the caps: pt-flood's connection counts, and one over the cap is refused. */
static void a_connection_over_the_cap_is_closed_before_it_authenticates(void **state) {
        Fx *fx = *state;
        Child a, b;
        int status = -1;

        fx->m->config.max_connections_per_user = 1;
        fx_start(fx);
        a = child_run(client_only_stays, fx->socket, (uid_t) -1);
        assert_string_equal(child_report_lines(fx, &a, 2), "ready\nsent 0 calls\n");
        assert_int_equal(fx->m->direct.n_peers, 1);
        b = child_run(client_only_stays, fx->socket, (uid_t) -1);
        /* Refused: pt-flood cannot authenticate and exits 1. */
        for (uint64_t end = boottime_usec() + 10 * 1000000ULL; boottime_usec() < end;) {
                assert_true(sd_event_run(fx->event, 5000) >= 0);
                if (waitpid(b.pid, &status, WNOHANG) == b.pid)
                        break;
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 1);
        close(b.report);
        close(b.go);
        assert_int_equal(fx->m->direct.n_peers, 1);
        assert_int_equal(kill(a.pid, SIGTERM), 0);
        (void) child_finish(fx, &a);
        assert_int_equal(fx->m->direct.n_peers, 0);
}

static unsigned open_fds(void);

/*
 * pt-flood writes ListDevices calls and reads nothing: the daemon holds an
 * answer or two for it beyond the socket's buffer, whatever it writes (it
 * was DIRECT_QUEUE_MAX answers: as many GetManagedObjects, 48 MiB), and
 * drops it once they have waited DIRECT_STALL_USEC.
 */
static void a_client_that_never_reads_is_dropped(void **state) {
        Fx *fx = *state;
        unsigned before;
        uint64_t queued, most = 0, t0 = 0, took;
        Child c;
        bool dropped = false;
        char *line;

        fx_start(fx);
        c = child_run(client_never_reads, fx->socket, (uid_t) -1);
        before = open_fds();    /* the child's pipes in, its connection not accepted yet */
        assert_string_equal(child_report(fx, &c), "ready\n");
        /* The child is alive, its connection open, it writes on: the daemon drops it by itself. */
        for (uint64_t end = boottime_usec() + 30 * 1000000ULL; !dropped && boottime_usec() < end;) {
                assert_true(sd_event_run(fx->event, 5000) >= 0);
                dropped = fx->direct_seen && fx->m->direct.n_peers == 0;
                fx->direct_seen = fx->direct_seen || fx->m->direct.n_peers == 1;
                if (fx->m->direct.n_peers == 1 &&
                    sd_bus_get_n_queued_write(fx->m->direct.peers[0]->bus, &queued) >= 0 && queued > 0) {
                        most = queued > most ? queued : most;
                        t0 = t0 ?: boottime_usec();
                }
        }
        took = boottime_usec() - t0;
        fprintf(stderr, "# at most %" PRIu64 " answers queued; dropped %" PRIu64 " ms after the first\n", most,
                took / 1000);
        assert_true(dropped);
        assert_in_range(most, 1, 2);
        assert_in_range(took, DIRECT_STALL_USEC - 100000, DIRECT_STALL_USEC + 2000000);
        /* Nothing of the connection is left: its socket, the relay's pair, its pidfd (a timer at most). */
        assert_true(open_fds() <= before + 1);
        assert_int_equal(kill(c.pid, 0), 0);
        line = child_report(fx, &c);
        assert_non_null(strstr(line, "hung up after "));
        assert_int_equal(kill(c.pid, SIGTERM), 0);
        (void) child_finish(fx, &c);
}

static int on_revoked(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *device, *vm;
        uint32_t pid;
        int *report = userdata;

        (void) error;
        if (sd_bus_message_read(msg, "ssu", &device, &vm, &pid) >= 0)
                say(*report, "revoked %s %s %u\n", device, vm, pid);
        return 0;
}

/* Wait for LeaseRevoked, as a holder would. */
static void client_waits_for_revocation(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        char ping[64] = "";

        if (client_connect(path, &bus) < 0 ||
            sd_bus_match_signal(bus, NULL, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "LeaseRevoked",
                                on_revoked, &report) < 0)
                _exit(2);
        client_call(bus, "org.freedesktop.DBus.Peer", "Ping", NULL, ping, sizeof(ping));
        say(report, "ready %s\n", ping);
        for (int i = 0; i < 1000; i++) {
                struct pollfd p = { .fd = go, .events = POLLIN };

                if (sd_bus_process(bus, NULL) > 0)
                        continue;
                if (poll(&p, 1, 0) == 1)
                        break;
                (void) sd_bus_wait(bus, 10000);
        }
}

static void lease_revoked_reaches_a_direct_connection(void **state) {
        Fx *fx = *state;
        Lease l = { .device = (char *) D1, .vm = (char *) "vm-a", .pid = 4242 };
        Child c;

        fx_start(fx);
        c = child_run(client_waits_for_revocation, fx->socket, (uid_t) -1);
        assert_string_equal(child_report(fx, &c), "ready ok\n");
        manager_send_lease_revoked(fx->m, &l);
        assert_string_equal(child_report(fx, &c), "revoked " D1 " vm-a 4242\n");
        assert_int_equal(child_finish(fx, &c), 0);
}

/* A lease of D1 to @pid, started at @start_time, as a grant would leave it (no group fd: nothing moves). */
static Lease *lease_of_d1(Fx *fx, pid_t pid, uint64_t start_time) {
        Manager *m = fx->m;
        Device *d = manager_find_device(m, D1);
        Lease *l = calloc(1, sizeof(*l));

        assert_non_null(d);
        assert_non_null(l);
        *l = (Lease) { .manager = m, .group = 1, .pid = pid, .start_time = start_time, .pidfd = -EBADF,
                       .node_owner = (uid_t) -1, .state = LEASE_ACTIVE, .vm = strdup("vm-b"), .device = strdup(D1) };
        assert_int_equal(strv_extend(&l->devices, D1), 0);
        assert_non_null(l->vm);
        assert_non_null(l->device);
        m->leases = reallocarray(m->leases, m->n_leases + 1, sizeof(Lease *));
        assert_non_null(m->leases);
        m->leases[m->n_leases++] = l;
        d->lease = l;
        return l;
}

static int handover[2];         /* A gives B its connection over this socket pair */

/* A: connects, hands the connection to B, waits to be told to exit. */
static void client_connects_and_hands_over(const char *path, int report, int go) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char x = 'x';
        struct iovec iov = { .iov_base = &x, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                _exit(2);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        if (sendmsg(handover[0], &mh, 0) < 0)
                _exit(2);
        say(report, "handed\n");
        wait_go(go);
}

/* B: takes A's connection, and once told, calls Release over it. */
static void client_releases_over_a_connection_handed_over(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char x, out[128] = "";
        struct iovec iov = { .iov_base = &x, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        int fd;

        (void) path;
        if (recvmsg(handover[1], &mh, 0) < 1 || !CMSG_FIRSTHDR(&mh))
                _exit(2);
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
        say(report, "got\n");
        wait_go(go);
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 || sd_bus_start(bus) < 0)
                _exit(2);
        client_call(bus, PT_MANAGER_INTERFACE, "Release", D1, out, sizeof(out));
        say(report, "%s\n", out);
        wait_go(go);
}

/* Release over its own connection, then once more after being told to. */
static void client_releases_twice(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        char out[128] = "";

        if (client_connect(path, &bus) < 0)
                _exit(2);
        client_call(bus, PT_MANAGER_INTERFACE, "Release", D1, out, sizeof(out));
        say(report, "%s\n", out);
        wait_go(go);
        client_call(bus, PT_MANAGER_INTERFACE, "Release", D1, out, sizeof(out));
        say(report, "%s\n", out);
        wait_go(go);
}

/*
 * Release by the holder is told from its pid and its start time: a
 * connection made by a process that has exited, passed on to another, does
 * not end a lease of a process that got the dead one's pid; a process with
 * the holder's pid but another start time is not the holder either; the
 * holder itself is.  The callers are not root (as root, Release revokes).
 */
static void a_connection_passed_on_releases_nothing(void **state) {
        Fx *fx = *state;
        uid_t nobody = geteuid() == 0 ? 65534 : (uid_t) -1;
        uint64_t start;
        Child a, b, c;
        Lease *l;

        assert_int_equal(worker_new(fx->event, &fx->m->worker), 0);
        free(fx->m->config.group);
        fx->m->config.group = strdup(geteuid() == 0 ? "nogroup" : own_group());
        assert_non_null(fx->m->config.group);
        fx_start(fx);
        open_the_socket_to_anyone(fx);
        assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, handover), 0);
        b = child_run(client_releases_over_a_connection_handed_over, NULL, nobody);
        a = child_run(client_connects_and_hands_over, fx->socket, nobody);
        assert_string_equal(child_report(fx, &a), "handed\n");
        assert_string_equal(child_report(fx, &b), "got\n");
        for (int i = 0; i < 100 && fx->m->direct.n_peers < 1; i++)
                (void) sd_event_run(fx->event, 10000);
        assert_int_equal(fx->m->direct.n_peers, 1);
        assert_int_equal(fx->m->direct.peers[0]->pid, a.pid);
        assert_int_equal(proc_start_time(a.pid, &start), 0);
        /* A exits and is reaped; its pid, as if it went to a VMM that leased D1. */
        assert_int_equal(child_finish(fx, &a), 0);
        l = lease_of_d1(fx, a.pid, start + 1);
        assert_int_equal(write(b.go, "g", 1), 1);
        assert_string_equal(child_report(fx, &b), SD_BUS_ERROR_ACCESS_DENIED "\n");
        assert_ptr_equal(manager_find_device(fx->m, D1)->lease, l);
        assert_int_equal(l->state, LEASE_ACTIVE);
        assert_int_equal(child_finish(fx, &b), 0);
        close(handover[0]);
        close(handover[1]);

        /* The holder's pid, not its start time: not the holder.  Its own start time: the holder. */
        c = child_run(client_releases_twice, fx->socket, nobody);
        for (int i = 0; i < 100 && fx->m->direct.n_peers < 1; i++)
                (void) sd_event_run(fx->event, 10000);
        assert_int_equal(proc_start_time(c.pid, &start), 0);
        l->pid = c.pid;
        l->start_time = start + 1;
        assert_string_equal(child_report(fx, &c), SD_BUS_ERROR_ACCESS_DENIED "\n");
        assert_int_equal(l->state, LEASE_ACTIVE);
        l->start_time = start;
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_string_equal(child_report(fx, &c), "ok\n");
        l = manager_find_device(fx->m, D1)->lease;
        assert_true(!l || l->state == LEASE_RELEASING);
        assert_int_equal(child_finish(fx, &c), 0);
}

/*
 * A holder that runs as root and asks Release again while its lease is on
 * its way back (a retry, a tool releasing device by device) is still the
 * holder: nothing happens.  Root's Release revokes another's lease only.
 */
static void a_root_holders_second_release_does_not_revoke_it(void **state) {
        Fx *fx = *state;
        uint64_t start;
        Child c;
        Lease *l;

        assert_int_equal(worker_new(fx->event, &fx->m->worker), 0);
        fx_start(fx);
        c = child_run(client_releases_twice, fx->socket, (uid_t) -1);
        for (int i = 0; i < 100 && fx->m->direct.n_peers < 1; i++)
                (void) sd_event_run(fx->event, 10000);
        assert_int_equal(proc_start_time(c.pid, &start), 0);
        l = lease_of_d1(fx, c.pid, start);
        l->state = LEASE_RELEASING;     /* its first Release was heard; the group is not back yet */
        assert_string_equal(child_report(fx, &c), "ok\n");
        assert_ptr_equal(manager_find_device(fx->m, D1)->lease, l);
        assert_null(l->grace_timer);
        assert_int_equal(l->state, LEASE_RELEASING);
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_string_equal(child_report(fx, &c), "ok\n");
        assert_null(l->grace_timer);
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_int_equal(child_finish(fx, &c), 0);
}

/* Root: Enter, Acquire of D1, Enter again, Exit, a step at a time: "ok" or the error's name each. */
static void client_asks_for_maintenance(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char out[128] = "connect failed";

        if (client_connect(path, &bus) < 0)
                _exit(2);
        client_call(bus, PT_MANAGER_INTERFACE, "EnterMaintenanceMode", NULL, out, sizeof(out));
        say(report, "%s\n", out);
        wait_go(go);
        if (sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Acquire", &error, &reply,
                               "ssa{sv}", D1, "vm-x", 0) >= 0)
                say(report, "ok\n");
        else
                say(report, "%s\n", error.name ?: "?");
        wait_go(go);
        client_call(bus, PT_MANAGER_INTERFACE, "EnterMaintenanceMode", NULL, out, sizeof(out));
        say(report, "%s\n", out);
        wait_go(go);
        client_call(bus, PT_MANAGER_INTERFACE, "ExitMaintenanceMode", NULL, out, sizeof(out));
        say(report, "%s\n", out);
        wait_go(go);
}

/*
 * EnterMaintenanceMode refused for a lease still active stops new leases
 * until it is entered or left: a group member's Acquire between root's
 * revocations and its Enter kept the host out of maintenance mode.
 */
static void maintenance_asked_for_stops_new_leases(void **state) {
        Fx *fx = *state;
        char busy[128], refused[128];
        StateDevice *sd;
        Child c;
        Lease *l;

        snprintf(busy, sizeof(busy), "%s\n", PT_ERROR_LEASES_ACTIVE);
        snprintf(refused, sizeof(refused), "%s\n", PT_ERROR_MAINTENANCE_MODE);
        assert_true(state_ensure_device(&fx->m->state, D1, &sd) >= 0);
        sd->passthrough = true;
        fx_start(fx);
        l = lease_of_d1(fx, getpid(), 0);
        c = child_run(client_asks_for_maintenance, fx->socket, (uid_t) -1);
        assert_string_equal(child_report(fx, &c), busy);
        assert_false(fx->m->state.maintenance);
        lease_free(l);  /* its return is done */
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_string_equal(child_report(fx, &c), refused);
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_string_equal(child_report(fx, &c), "ok\n");
        assert_true(fx->m->state.maintenance);
        assert_false(fx->m->maintenance_asked);
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_string_equal(child_report(fx, &c), "ok\n");
        assert_false(fx->m->state.maintenance);
        assert_int_equal(write(c.go, "g", 1), 1);
        assert_int_equal(child_finish(fx, &c), 0);
}

/* The fds this process (the daemon's side) has open. */
static unsigned open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* pt-flood --fds: a call begun (1 MiB of body to come) and never finished, each part sent with 253 fds. */
static void client_trickles_fds(const char *path, int report, int go) {
        (void) go;
        if (dup2(report, STDOUT_FILENO) < 0)
                _exit(2);
        execl("build/pt-flood", "pt-flood", "--fds", path, "8", NULL);
        _exit(2);
}

/* No method takes an fd: a client cannot park its fds in the daemon (where the kernel refuses them). */
static void fds_sent_to_the_daemon_are_refused(void **state) {
        Fx *fx = *state;
        _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int zero = 0;
        unsigned before;
        Child c;

        assert_true(probe >= 0);
        if (setsockopt(probe, SOL_SOCKET, SO_PASSRIGHTS, &zero, sizeof(zero)) < 0)
                skip();         /* before Linux 6.16: sd-bus takes them */
        fx_start(fx);
        c = child_run(client_trickles_fds, fx->socket, (uid_t) -1);
        before = open_fds();    /* the child's pipes in, its connection not accepted yet */
        assert_string_equal(child_report_lines(fx, &c, 2), "ready\nhung up after 0 parts\n");
        for (int i = 0; i < 20; i++)
                (void) sd_event_run(fx->event, 1000);
        /*
         * The connection's socket, the relay's dup of it and its socket pair,
         * its pidfd, the loop's first timer, and nothing of the 2024 sent.
         */
        assert_true(open_fds() <= before + 6);
        /* pt-flood stays until killed. */
        assert_int_equal(kill(c.pid, SIGTERM), 0);
        (void) child_finish(fx, &c);
}

/*
 * Where the kernel passes fds to the socket (before Linux 6.16), the
 * connection that sends one is dropped before sd-bus reads it, and the
 * daemon keeps none of them.
 */
static void a_connection_that_sends_fds_is_dropped_where_the_kernel_passes_them(void **state) {
        Fx *fx = *state;
        char *report;
        unsigned before;
        Child c;

        fx->m->direct.fds_passable = true;
        fx_start(fx);
        c = child_run(client_trickles_fds, fx->socket, (uid_t) -1);
        before = open_fds();
        /* The first part with fds went (253), and then the connection was gone. */
        report = child_report_lines(fx, &c, 2);
        assert_string_equal(report, "ready\nhung up after 1 parts\n");
        for (int i = 0; i < 20; i++)
                (void) sd_event_run(fx->event, 1000);
        assert_null(direct_bus_nth(&fx->m->direct, 0));
        /* The loop's first timer at most: no connection, and none of the fds sent. */
        assert_true(open_fds() <= before + 1);
        /* pt-flood stays until killed. */
        assert_int_equal(kill(c.pid, SIGTERM), 0);
        (void) child_finish(fx, &c);
}

/* ---- a client that writes the protocol itself (tests/tools/pt-flood's way) ---- */

/* The process's resident memory, in KiB. */
static long rss_kib(void) {
        char line[256];
        long v = -1;
        FILE *f = fopen("/proc/self/status", "re");

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld", &v) == 1)
                        break;
        if (f)
                fclose(f);
        return v;
}

/* Write @n bytes, one write() each when @bytewise (1 ms apart: each its own read on the other side). */
static int raw_write(int fd, const void *buf, size_t n, bool bytewise) {
        const uint8_t *p = buf;

        if (!bytewise)
                return write(fd, p, n) == (ssize_t) n ? 0 : -1;
        for (size_t i = 0; i < n; i++) {
                if (write(fd, p + i, 1) != 1)
                        return -1;
                usleep(1000);
        }
        return 0;
}

/* A socket connected to @path (SOCK_* @flags besides CLOEXEC); the child exits 2 if it cannot be. */
static int raw_socket(const char *path, int flags) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                _exit(2);
        return fd;
}

/* This process's uid as AUTH EXTERNAL names it: its decimal digits, in hex. */
static void uid_hex(char *hex, size_t size) {
        char uid[16];

        hex[0] = 0;
        snprintf(uid, sizeof(uid), "%u", (unsigned) geteuid());
        for (size_t i = 0; uid[i] && 2 * i + 2 < size; i++)
                snprintf(hex + 2 * i, size - 2 * i, "%02x", (unsigned char) uid[i]);
}

/* Connected to @path and authenticated (AUTH EXTERNAL with the uid, then BEGIN, unanswered: as a pipelining client). */
static int raw_connect(const char *path, bool bytewise) {
        char line[128], hex[32];
        int fd = raw_socket(path, 0);
        int n;

        uid_hex(hex, sizeof(hex));
        n = snprintf(line, sizeof(line), "%cAUTH EXTERNAL %s\r\nBEGIN\r\n", 0, hex);
        if (raw_write(fd, line, (size_t) n, bytewise) < 0)
                _exit(2);
        return fd;
}

static size_t raw_pad(uint8_t *buf, size_t off, size_t a) {
        while (off % a)
                buf[off++] = 0;
        return off;
}

static size_t raw_u32(uint8_t *buf, size_t off, uint32_t v) {
        off = raw_pad(buf, off, 4);
        memcpy(buf + off, &v, 4);       /* little-endian: the header says 'l' on x86 */
        return off + 4;
}

static size_t raw_field(uint8_t *buf, size_t off, uint8_t code, char sig, const char *val) {
        size_t n = strlen(val);

        off = raw_pad(buf, off, 8);
        buf[off++] = code;
        buf[off++] = 1;
        buf[off++] = (uint8_t) sig;
        buf[off++] = 0;
        off = raw_u32(buf, off, (uint32_t) n);
        memcpy(buf + off, val, n + 1);
        return off + n + 1;
}

/* org.freedesktop.DBus.Peer.Ping on the manager's object; its length. */
static size_t raw_ping(uint8_t *buf, uint32_t serial) {
        size_t off, start;

        buf[0] = 'l';
        buf[1] = 1;     /* method call */
        buf[2] = 0;
        buf[3] = 1;     /* protocol version */
        off = raw_u32(buf, 4, 0);
        off = raw_u32(buf, off, serial);
        off = raw_u32(buf, off, 0);
        start = raw_pad(buf, off, 8);
        off = raw_field(buf, start, 1, 'o', PT_MANAGER_PATH);
        off = raw_field(buf, off, 2, 's', "org.freedesktop.DBus.Peer");
        off = raw_field(buf, off, 3, 's', "Ping");
        (void) raw_u32(buf, 12, (uint32_t) (off - start));
        return raw_pad(buf, off, 8);
}

/* The header of a call that declares @body bytes of body. */
static void raw_big_header(uint8_t h[16], uint32_t body) {
        uint32_t serial = 2, fields = 0;

        memcpy(h, (uint8_t[]) { 'l', 1, 0, 1 }, 4);
        memcpy(h + 4, &body, 4);
        memcpy(h + 8, &serial, 4);
        memcpy(h + 12, &fields, 4);
}

#define BIG_DECLARED (16u << 20)        /* a body of 16 MiB declared (sd-bus takes up to 128 MiB) */
#define BIG_SENT (12u << 20)            /* and this much of it sent, never the rest */

/* Whether the daemon closed the connection (what it sent before is read and dropped); does not wait. */
static bool hung_up(int fd) {
        char buf[256];

        for (;;) {
                ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

                if (k == 0)
                        return true;
                if (k < 0)
                        return errno != EAGAIN && errno != EINTR;
        }
}

/* A call that declares BIG_DECLARED of body, BIG_SENT of it sent; says how far it got. */
static void client_sends_a_huge_call(const char *path, int report, int go) {
        static uint8_t chunk[64 * 1024];
        uint8_t h[16];
        size_t sent = 0;
        int fd = raw_connect(path, false);

        raw_big_header(h, BIG_DECLARED);
        if (raw_write(fd, h, sizeof(h), false) < 0)
                _exit(2);
        memset(chunk, 'x', sizeof(chunk));
        while (sent < BIG_SENT) {
                ssize_t k = write(fd, chunk, sizeof(chunk));

                if (k <= 0)
                        break;
                sent += (size_t) k;
        }
        if (sent < BIG_SENT)
                say(report, "hung up after %zu KiB\n", sent >> 10);
        else
                say(report, "sent %zu KiB, %s\n", sent >> 10, hung_up(fd) ? "then hung up" : "still open");
        wait_go(go);
}

/* A Ping over a new connection (sd-bus's client): "ok" or why not. */
static void client_pings(const char *path, int report, int go) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        char ping[128] = "connect failed";

        if (client_connect(path, &bus) >= 0)
                client_call(bus, "org.freedesktop.DBus.Peer", "Ping", NULL, ping, sizeof(ping));
        say(report, "%s\n", ping);
        wait_go(go);
}

/*
 * A client that declares a huge call and sends much of it is dropped at
 * the header: the daemon did not take what it sent (sd-bus kept it all,
 * to 128 MiB a connection), and the same uid's next connection works.
 */
static void a_huge_unfinished_call_is_refused_at_its_header(void **state) {
        Fx *fx = *state;
        long before, after;
        Child c, d;
        char *line;

        fx_start(fx);
        before = rss_kib();
        c = child_run(client_sends_a_huge_call, fx->socket, (uid_t) -1);
        line = child_report(fx, &c);
        for (int i = 0; i < 20; i++)
                (void) sd_event_run(fx->event, 1000);
        after = rss_kib();
        fprintf(stderr, "# %s# daemon RSS %ld KiB -> %ld KiB\n", line, before, after);
        assert_non_null(strstr(line, "hung up"));
        assert_int_equal(fx->m->direct.n_peers, 0);
        assert_true(after - before < 4 * 1024);
        d = child_run(client_pings, fx->socket, (uid_t) -1);
        assert_string_equal(child_report(fx, &d), "ok\n");
        assert_int_equal(child_finish(fx, &d), 0);
        assert_int_equal(child_finish(fx, &c), 0);
}

/*
 * Everything a byte at a time (a read each): the authentication, a Ping
 * (answered), then a huge call's header, which is still seen for what it
 * is and refused.
 */
static void client_writes_a_byte_at_a_time(const char *path, int report, int go) {
        uint8_t msg[256], h[16], in[512];
        size_t n = 0, len;
        int fd = raw_connect(path, true);

        len = raw_ping(msg, 1);
        if (raw_write(fd, msg, len, true) < 0)
                _exit(2);
        /* "OK <server id>\r\n" (37 bytes), then the answer's header. */
        while (n < 37 + 16) {
                ssize_t k = read(fd, in + n, sizeof(in) - n);

                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        if (n < 37 + 16 || memcmp(in, "OK ", 3) != 0) {
                say(report, "no answer (%zu bytes)\n", n);
                wait_go(go);
                return;
        }
        raw_big_header(h, BIG_DECLARED);
        /* The daemon may close while the header is under way: EPIPE. */
        (void) raw_write(fd, h, sizeof(h), true);
        usleep(100000);
        say(report, "answer type %u, %s\n", (unsigned) in[37 + 1], hung_up(fd) ? "then hung up" : "still open");
        wait_go(go);
}

static void a_call_written_a_byte_at_a_time_gets_through(void **state) {
        Fx *fx = *state;
        Child c;

        fx_start(fx);
        c = child_run(client_writes_a_byte_at_a_time, fx->socket, (uid_t) -1);
        /* A method return (2) to the Ping; the huge header is refused. */
        assert_string_equal(child_report(fx, &c), "answer type 2, then hung up\n");
        assert_int_equal(fx->m->direct.n_peers, 0);
        assert_int_equal(child_finish(fx, &c), 0);
}

/* The authentication and 20 Pings in one write, then the answers read: "N answers" (of type 2). */
static void client_pipelines(const char *path, int report, int go) {
        uint8_t msgs[20 * 256], in[64 * 1024];
        size_t len = 0, n = 0, off = 37;        /* past "OK <server id>\r\n" */
        unsigned answers = 0, others = 0;
        int fd = raw_connect(path, false);

        for (uint32_t i = 0; i < 20; i++)
                len += raw_ping(msgs + len, i + 1);
        if (raw_write(fd, msgs, len, false) < 0)
                _exit(2);
        while (answers + others < 20) {
                ssize_t k = read(fd, in + n, sizeof(in) - n);
                uint32_t body, fields;

                if (k <= 0)
                        break;
                n += (size_t) k;
                while (off + 16 <= n) {
                        memcpy(&body, in + off + 4, 4);
                        memcpy(&fields, in + off + 12, 4);
                        if (off + 16 + ((fields + 7) & ~7u) + body > n)
                                break;
                        if (in[off + 1] == 2)
                                answers++;
                        else
                                others++;
                        off += 16 + ((fields + 7) & ~7u) + body;
                }
        }
        say(report, "%u answers, %u others\n", answers, others);
        wait_go(go);
}

/* Calls written back to back, unanswered: the relay hands them on one at a time, and each is answered. */
static void pipelined_calls_are_each_answered(void **state) {
        Fx *fx = *state;
        Child c;

        fx_start(fx);
        c = child_run(client_pipelines, fx->socket, (uid_t) -1);
        assert_string_equal(child_report(fx, &c), "20 answers, 0 others\n");
        assert_int_equal(child_finish(fx, &c), 0);
}

/*
 * A BEGIN before any AUTH, which sd-bus answers with ERROR and stays in
 * the authentication; then a line that is also a small message's header,
 * whose body is a real AUTH and BEGIN and a huge call's header; then that
 * call's body, in parts that each begin with a small message's header.  A
 * relay that took the first BEGIN for the end of the authentication would
 * see small messages only and pass it all, and sd-bus would read one huge
 * call.  The relay gives sd-bus nothing after a BEGIN until sd-bus runs,
 * which it does not here: the rest is not read (for 2 s; the client
 * writes what its socket buffer holds).
 */
static void client_begins_before_it_authenticates(const char *path, int report, int go) {
        static uint8_t chunk[64 * 1024];
        char tail[128], hex[32];
        uint8_t head[256], h[16];
        size_t sent = 0, n, t;
        int fd = raw_socket(path, SOCK_NONBLOCK);

        uid_hex(hex, sizeof(hex));
        t = (size_t) snprintf(tail, sizeof(tail), "\r\nAUTH EXTERNAL %s\r\nBEGIN\r\n", hex);
        memcpy(head, "\0BEGIN\r\n", 8);
        raw_big_header(head + 8, (uint32_t) (t + 16));  /* a "message" of the rest of the line, AUTH, BEGIN, a header */
        memcpy(head + 24, tail, t);
        raw_big_header(h, BIG_DECLARED);
        memcpy(head + 24 + t, h, sizeof(h));
        n = 24 + t + sizeof(h);
        if (write(fd, head, n) != (ssize_t) n)
                _exit(2);
        memset(chunk, 'x', sizeof(chunk));
        raw_big_header(chunk, sizeof(chunk) - 16);      /* each part a message of its own, to such a relay */
        for (uint64_t end = boottime_usec() + 2 * 1000000ULL; sent < BIG_SENT && boottime_usec() < end;) {
                size_t at = sent % sizeof(chunk);
                ssize_t k = write(fd, chunk + at, sizeof(chunk) - at);

                if (k > 0)
                        sent += (size_t) k;
                else if (k < 0 && errno == EAGAIN)
                        usleep(1000);
                else
                        break;
        }
        say(report, "%s\n", sent < 4 * 1024 * 1024 ? "the rest not read" : "read it all");
        wait_go(go);
}

static void a_begin_before_authentication_lets_nothing_past(void **state) {
        Fx *fx = *state;
        long before, after;
        Child c;

        fx_start(fx);
        before = rss_kib();
        c = child_run(client_begins_before_it_authenticates, fx->socket, (uid_t) -1);
        assert_string_equal(child_report(fx, &c), "the rest not read\n");
        after = rss_kib();
        assert_true(after - before < 4 * 1024);
        /* The client hangs up: the connection held at its BEGIN goes (not at sd-bus's authentication timeout). */
        assert_int_equal(child_finish(fx, &c), 0);
        assert_int_equal(fx->m->direct.n_peers, 0);
}

/*
 * With no fd left for accept(), a waiting connection stays in the backlog
 * and the socket readable: the loop stops listening for a second instead
 * of spinning on it, and serves the connection once fds are back.
 */
static void accept_without_fds_pauses_instead_of_spinning(void **state) {
        Fx *fx = *state;
        struct rlimit old, low;
        int fillers[64], n = 0, enabled = -1, paused_run = 0;
        Child c;

        fx_start(fx);
        c = child_run(client_lists_and_releases, fx->socket, (uid_t) -1);
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
        low = (struct rlimit) { .rlim_cur = open_fds() + 8, .rlim_max = old.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        while (n < (int) ELEMENTSOF(fillers) && (fillers[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
                n++;
        assert_int_equal(errno, EMFILE);
        /* The child's connect() is in the backlog by now, or soon. */
        for (uint64_t end = boottime_usec() + 5 * 1000000ULL; boottime_usec() < end;) {
                (void) sd_event_run(fx->event, 10000);
                (void) sd_event_source_get_enabled(fx->m->direct.listen_source, &enabled);
                if (enabled == SD_EVENT_OFF)
                        break;
        }
        /* Nothing to do while paused (what was pending aside): no dispatch of a still readable socket. */
        for (int i = 0; i < 8; i++)
                paused_run += sd_event_run(fx->event, 0) > 0;
        while (n > 0)
                close(fillers[--n]);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        assert_int_equal(enabled, SD_EVENT_OFF);
        assert_true(paused_run <= 2);
        /* Listening again after the pause: the call is answered. */
        assert_string_equal(child_report(fx, &c), "ok " SD_BUS_ERROR_FAILED "\n");
        assert_int_equal(child_finish(fx, &c), 0);
}

/*
 * In a child, as systemd would start passthrud: the listening socket at fd
 * 3 (LISTEN_FDS), its group @from; direct_start() with Group=@group.  The
 * socket's group afterwards, or -1.
 */
static gid_t group_of_a_passed_socket(Fx *fx, gid_t from, const char *group) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int status, fd;
        pid_t pid;

        (void) unlink(fx->socket);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx->socket);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        assert_int_equal(chown(fx->socket, (uid_t) -1, from), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char pid_text[16];

                if (dup2(fd, 3) < 0)
                        _exit(1);
                snprintf(pid_text, sizeof(pid_text), "%d", (int) getpid());
                setenv("LISTEN_PID", pid_text, 1);
                setenv("LISTEN_FDS", "1", 1);
                /* The loop is the parent's (sd-event refuses a child): only the socket's group counts here. */
                (void) direct_start(fx->m, NULL, group);
                _exit(0);
        }
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (stat(fx->socket, &st) < 0)
                return (gid_t) -1;
        (void) unlink(fx->socket);
        return st.st_gid;
}

/* The socket systemd made (passthrud.socket's group) gets the group of Group=; one that does not exist changes nothing. */
static void a_socket_systemd_passed_follows_group(void **state) {
        Fx *fx = *state;
        struct group *gr;
        gid_t nogroup;

        if (geteuid() != 0)
                skip();         /* only root gives a file to another group */
        gr = getgrnam("nogroup");
        assert_non_null(gr);
        nogroup = gr->gr_gid;
        assert_int_equal(group_of_a_passed_socket(fx, 0, "nogroup"), nogroup);
        assert_int_equal(group_of_a_passed_socket(fx, nogroup, "root"), 0);
        assert_int_equal(group_of_a_passed_socket(fx, nogroup, "no-such-group-for-this-test"), nogroup);
}

static void a_stale_socket_is_replaced_and_removed_at_the_end(void **state) {
        Fx *fx = *state;
        struct stat st;

        /* A socket left by a killed run (one that did not unlink it) is replaced. */
        fx_start(fx);
        fx->m->direct.bound = mfree(fx->m->direct.bound);
        direct_done(&fx->m->direct);
        assert_int_equal(stat(fx->socket, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        fx_start(fx);
        assert_int_equal(stat(fx->socket, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0660);
        assert_int_equal(st.st_gid, getegid());
        /* A clean end removes it. */
        direct_done(&fx->m->direct);
        assert_int_equal(stat(fx->socket, &st), -1);

        /* Anything else at that path is not ours: left alone, and no socket. */
        fake_write(fx->root, "run/passthru.sock", "not a socket");
        assert_true(direct_start(fx->m, fx->socket, own_group()) < 0);
        assert_int_equal(fx->m->direct.listen_fd, -EBADF);
        assert_int_equal(stat(fx->socket, &st), 0);
        assert_true(S_ISREG(st.st_mode));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
        const struct CMUnitTest tests[] = {
                T(a_caller_is_known_from_the_socket),
                T(hello_is_answered_that_this_is_no_bus),
                T(a_stranger_is_refused_by_the_same_rules),
                T(a_root_only_method_is_refused_to_another_user),
                T(connections_over_the_cap_per_user_are_refused),
                T(connections_over_the_cap_in_total_are_refused),
                T(root_gets_in_past_the_total),
                T(a_connection_over_the_cap_is_closed_before_it_authenticates),
                T(a_client_that_never_reads_is_dropped),
                T(lease_revoked_reaches_a_direct_connection),
                T(fds_sent_to_the_daemon_are_refused),
                T(a_connection_that_sends_fds_is_dropped_where_the_kernel_passes_them),
                T(accept_without_fds_pauses_instead_of_spinning),
                T(a_huge_unfinished_call_is_refused_at_its_header),
                T(a_call_written_a_byte_at_a_time_gets_through),
                T(pipelined_calls_are_each_answered),
                T(a_begin_before_authentication_lets_nothing_past),
                T(a_stale_socket_is_replaced_and_removed_at_the_end),
                T(a_connection_passed_on_releases_nothing),
                T(a_root_holders_second_release_does_not_revoke_it),
                T(maintenance_asked_for_stops_new_leases),
                T(a_socket_systemd_passed_follows_group),
        };
#undef T
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
