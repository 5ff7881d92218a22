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
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_connection_is_remembered_until_it_leaves),
                cmocka_unit_test(the_rules_read_only_what_the_transport_vouched_for),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
