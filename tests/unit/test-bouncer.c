/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bouncer's memory of bus connections: when each appeared, and what the
 * bus vouched for about it, kept while it lives and forgotten when it
 * leaves; and its rules, the same for a caller of either transport.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bouncer.h"
#include "manager.h"

static void a_connection_is_remembered_until_it_leaves(void **state) {
        BusPeers p = { .watch_started = 100 };
        BusPeer *e;

        (void) state;
        assert_int_equal(bus_peers_note(&p, ":1.5", 500), 0);
        assert_int_equal(bus_peers_note(&p, ":1.5", 900), 0);     /* the first sighting counts */
        assert_int_equal(bus_peers_appeared(&p, ":1.5"), 500);
        /* A connection older than the watch is bounded by its start. */
        assert_int_equal(bus_peers_appeared(&p, ":1.2"), 100);

        /* Credentials kept on the entry, one entry per name. */
        e = bus_peers_get(&p, ":1.5");
        assert_non_null(e);
        assert_false(e->creds_known);
        e->creds_known = true;
        e->euid = 1000;
        e->gids = calloc(2, sizeof(gid_t));
        assert_non_null(e->gids);
        e->n_gids = 2;
        assert_ptr_equal(bus_peers_get(&p, ":1.5"), e);
        assert_true(bus_peers_get(&p, ":1.5")->creds_known);

        /* An older caller gets an entry that says the watch's start. */
        e = bus_peers_get(&p, ":1.2");
        assert_non_null(e);
        assert_int_equal(e->appeared, 100);
        assert_int_equal(p.n, 2);

        /* Leaving forgets it, credentials and all (ASan sees a leak otherwise). */
        assert_int_equal(bus_peers_note(&p, ":1.5", 0), 0);
        assert_int_equal(p.n, 1);
        assert_false(bus_peers_get(&p, ":1.5")->creds_known);
        bus_peers_done(&p);
        assert_int_equal(p.n, 0);
}

/* dbus-daemon's answer to GetConnectionCredentials, as a message to read. */
static sd_bus_message *credentials(sd_bus *bus, bool with_groups, bool with_pid) {
        sd_bus_message *m = NULL;
        uint32_t groups[] = { 990, 100 };

        assert_true(sd_bus_message_new_signal(bus, &m, "/", "org.example", "Credentials") >= 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "UnixUserID", "u", 1000) >= 0);
        if (with_pid)
                assert_true(sd_bus_message_append(m, "{sv}", "ProcessID", "u", 4242) >= 0);
        assert_true(sd_bus_message_append(m, "{sv}", "LinuxSecurityLabel", "ay", 2, "x", "y") >= 0);
        if (with_groups) {
                assert_true(sd_bus_message_open_container(m, 'e', "sv") >= 0);
                assert_true(sd_bus_message_append(m, "s", "UnixGroupIDs") >= 0);
                assert_true(sd_bus_message_open_container(m, 'v', "au") >= 0);
                assert_true(sd_bus_message_append_array(m, 'u', groups, sizeof(groups)) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
        }
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_seal(m, 1, 0) >= 0);
        assert_int_equal(sd_bus_message_rewind(m, true), 1);
        return m;
}

/* The answer asked when a connection appeared fills its entry, once, and only while it lives. */
static void prefetched_credentials_fill_a_living_connection_once(void **state) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        BusPeers p = { .watch_started = 100 };
        sd_bus_message *m;
        BusPeer *e;
        int fds[2];

        (void) state;
        /* A bus that is started (messages need one), on a socket nobody answers. */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_start(bus), 0);
        /* A name that left before the answer: nothing to fill, nothing added. */
        m = credentials(bus, true, true);
        assert_int_equal(bus_peers_fill(&p, ":1.9", m), 0);
        sd_bus_message_unref(m);
        assert_int_equal(p.n, 0);

        assert_int_equal(bus_peers_note(&p, ":1.9", 500), 0);
        /* No pid: not vouched for, left to the call. */
        m = credentials(bus, true, false);
        assert_true(bus_peers_fill(&p, ":1.9", m) < 0);
        sd_bus_message_unref(m);
        assert_false(bus_peers_get(&p, ":1.9")->creds_known);

        m = credentials(bus, true, true);
        assert_int_equal(bus_peers_fill(&p, ":1.9", m), 1);
        sd_bus_message_unref(m);
        e = bus_peers_get(&p, ":1.9");
        assert_true(e->creds_known);
        assert_int_equal(e->euid, 1000);
        assert_int_equal(e->pid, 4242);
        assert_false(e->gid_known);
        assert_int_equal(e->n_gids, 2);
        assert_int_equal(e->gids[0], 990);
        assert_int_equal(e->gids[1], 100);
        assert_int_equal(e->appeared, 500);
        /* A second answer changes nothing. */
        m = credentials(bus, false, true);
        assert_int_equal(bus_peers_fill(&p, ":1.9", m), 0);
        sd_bus_message_unref(m);
        assert_int_equal(bus_peers_get(&p, ":1.9")->n_gids, 2);

        /* Without UnixGroupIDs the groups are unknown (-1), not none. */
        assert_int_equal(bus_peers_note(&p, ":1.10", 600), 0);
        m = credentials(bus, false, true);
        assert_int_equal(bus_peers_fill(&p, ":1.10", m), 1);
        sd_bus_message_unref(m);
        assert_int_equal(bus_peers_get(&p, ":1.10")->n_gids, -1);
        bus_peers_done(&p);
        close(fds[1]);
}

static void the_rules_read_only_what_the_transport_vouched_for(void **state) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        gid_t g = 4242;
        Caller member = { .euid = 4242, .gid_known = false, .gids = &g, .n_gids = 1, .pidfd = -EBADF };
        Caller stranger = { .euid = 4242, .n_gids = 0, .pidfd = -EBADF };
        Caller root = { .euid = 0, .n_gids = 0, .pidfd = -EBADF };
        struct group *gr = getgrgid(getegid());

        (void) state;
        assert_non_null(gr);
        assert_int_equal(manager_new(&manager_default_paths, &m), 0);
        free(m->config.group);
        m->config.group = strdup(gr->gr_name);
        assert_non_null(m->config.group);
        g = gr->gr_gid;

        assert_int_equal(bouncer_authorize(m, "Acquire", &member, &error), 0);
        assert_int_equal(bouncer_authorize(m, "Release", &member, &error), 0);
        assert_true(bouncer_authorize(m, "Reset", &member, &error) < 0);
        assert_string_equal(error.name, SD_BUS_ERROR_ACCESS_DENIED);
        sd_bus_error_free(&error);
        /* Groups the transport said nothing of (n_gids 0) are not looked up. */
        assert_true(bouncer_authorize(m, "Acquire", &stranger, &error) < 0);
        assert_non_null(strstr(error.message, "members of group"));
        sd_bus_error_free(&error);
        /* The primary group counts only when vouched for. */
        stranger.gid = g;
        assert_true(bouncer_authorize(m, "Acquire", &stranger, &error) < 0);
        sd_bus_error_free(&error);
        stranger.gid_known = true;
        assert_int_equal(bouncer_authorize(m, "Acquire", &stranger, &error), 0);
        assert_int_equal(bouncer_authorize(m, "Reset", &root, &error), 0);
        /* DESIGN.md: ListDevices and GetDevice are anyone's, like the properties. */
        stranger = (Caller) { .euid = 4243, .n_gids = 0, .pidfd = -EBADF };
        assert_int_equal(bouncer_authorize(m, "ListDevices", &stranger, &error), 0);
        assert_int_equal(bouncer_authorize(m, "GetDevice", &stranger, &error), 0);
        assert_true(bouncer_authorize(m, "SetPassthrough", &stranger, &error) < 0);
        assert_non_null(strstr(error.message, "for root only"));
        sd_bus_error_free(&error);
}

/* ---- a real dbus-daemon ---- */

/* A private dbus-daemon (session policy: anyone may send anyone a signal); its address in *ret_address. */
static pid_t bus_daemon_start(char **ret_dir, char **ret_address) {
        char *dir = NULL, *sock = NULL, *arg = NULL;
        pid_t pid;

        assert_true(asprintf(&dir, "/tmp/test-bouncer.XXXXXX") > 0);
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&sock, "%s/bus", dir) > 0);
        assert_true(asprintf(&arg, "--address=unix:path=%s", sock) > 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                /* Gone with the test, even one that fails half way; and not holding its output open. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
                        _exit(126);
                execlp("dbus-daemon", "dbus-daemon", "--session", arg, "--nofork", "--nopidfile", (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
                usleep(10000);
        assert_int_equal(access(sock, F_OK), 0);
        assert_true(asprintf(ret_address, "unix:path=%s", sock) > 0);
        *ret_dir = dir;
        free(sock);
        free(arg);
        return pid;
}

static sd_bus *bus_client(const char *address) {
        sd_bus *bus = NULL;

        assert_true(sd_bus_new(&bus) >= 0);
        assert_true(sd_bus_set_address(bus, address) >= 0);
        assert_true(sd_bus_set_bus_client(bus, true) >= 0);
        assert_true(sd_bus_start(bus) >= 0);
        return bus;
}

static bool peer_known(const BusPeers *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->peers[i].name, name) == 0)
                        return true;
        return false;
}

/* Run @bus until @name is known (@known) or not, for at most 5 s. */
static void process_until(sd_bus *bus, const BusPeers *p, const char *name, bool known) {
        for (int i = 0; i < 500 && peer_known(p, name) != known; i++)
                if (sd_bus_process(bus, NULL) == 0)
                        (void) sd_bus_wait(bus, 10000);
        assert_true(peer_known(p, name) == known);
}

static void forge(sd_bus *bus, const char *to, const char *name, const char *old_owner, const char *new_owner) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        assert_true(sd_bus_message_new_signal(bus, &m, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                              "NameOwnerChanged") >= 0);
        assert_true(sd_bus_message_set_destination(m, to) >= 0);
        assert_true(sd_bus_message_append(m, "sss", name, old_owner, new_owner) >= 0);
        assert_true(sd_bus_send(bus, m, NULL) >= 0);
}

/*
 * A NameOwnerChanged that another client sends passthrud (sd-bus cannot
 * hold a match to dbus-daemon's well-known name) changes nothing: not when
 * a real connection appeared, nor a connection that never was.  Those of
 * dbus-daemon itself are heard.
 */
static void name_owner_changes_only_from_dbus_daemon_count(void **state) {
        _cleanup_free_ char *dir = NULL, *address = NULL;
        sd_bus *daemon_bus, *caller, *forger;
        const char *daemon_name, *name;
        char *caller_name, *forger_name;
        Manager *m = NULL;
        uint64_t appeared;
        pid_t bus_pid;

        (void) state;
        bus_pid = bus_daemon_start(&dir, &address);
        assert_int_equal(manager_new(&manager_default_paths, &m), 0);
        daemon_bus = bus_client(address);
        assert_int_equal(bouncer_watch_peers(m, daemon_bus), 0);
        assert_int_equal(sd_bus_get_unique_name(daemon_bus, &daemon_name), 0);

        caller = bus_client(address);
        assert_int_equal(sd_bus_get_unique_name(caller, &name), 0);
        caller_name = strdupa(name);    /* the bus's copy goes with it */
        process_until(daemon_bus, &m->peers, caller_name, true);
        appeared = bus_peers_appeared(&m->peers, caller_name);
        assert_true(appeared > m->peers.watch_started);

        forger = bus_client(address);
        assert_int_equal(sd_bus_get_unique_name(forger, &name), 0);
        forger_name = strdupa(name);
        process_until(daemon_bus, &m->peers, forger_name, true);
        /* The caller "left" and "appeared" again; one that never was "appeared". */
        forge(forger, daemon_name, caller_name, caller_name, "");
        forge(forger, daemon_name, caller_name, "", caller_name);
        forge(forger, daemon_name, ":9.1", "", ":9.1");
        assert_true(sd_bus_flush(forger) >= 0);
        /* The forger's real leave comes after its signals: once it is heard, they were too. */
        sd_bus_flush_close_unref(forger);
        process_until(daemon_bus, &m->peers, forger_name, false);

        assert_true(peer_known(&m->peers, caller_name));
        assert_int_equal(bus_peers_appeared(&m->peers, caller_name), appeared);
        assert_false(peer_known(&m->peers, ":9.1"));

        /* dbus-daemon's own: the caller's real leave. */
        sd_bus_flush_close_unref(caller);
        process_until(daemon_bus, &m->peers, caller_name, false);

        sd_bus_flush_close_unref(daemon_bus);
        manager_free(m);
        kill(bus_pid, SIGTERM);
        assert_int_equal(waitpid(bus_pid, NULL, 0), bus_pid);
        {
                char *sock = NULL;

                assert_true(asprintf(&sock, "%s/bus", dir) > 0);
                (void) unlink(sock);
                free(sock);
                assert_int_equal(rmdir(dir), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_connection_is_remembered_until_it_leaves),
                cmocka_unit_test(prefetched_credentials_fill_a_living_connection_once),
                cmocka_unit_test(the_rules_read_only_what_the_transport_vouched_for),
                cmocka_unit_test(name_owner_changes_only_from_dbus_daemon_count),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
