/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A peer-to-peer D-Bus connection for tests that call passthrud's methods
 * without a bus daemon: fake_bus_pair() makes the two ends on a socket
 * pair (the server's to give to manager_bus_publish()), fake_bus_send()
 * sends a call and turns the client's end and the daemon's loop until its
 * answer arrives.  The caller is the test's own process (root under make
 * unit), as the bouncer reads it from the socket.  Include after cmocka.
 */
#pragma once

#include <sys/socket.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

static inline void fake_bus_pair(sd_bus **ret_server, sd_bus **ret_client) {
        sd_bus *server = NULL, *client = NULL;
        sd_id128_t id;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&server), 0);
        assert_int_equal(sd_bus_set_fd(server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(server, 1, id), 0);
        assert_int_equal(sd_bus_set_anonymous(server, 1), 0);
        assert_int_equal(sd_bus_start(server), 0);
        assert_int_equal(sd_bus_new(&client), 0);
        assert_int_equal(sd_bus_set_fd(client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_set_anonymous(client, 1), 0);
        assert_int_equal(sd_bus_start(client), 0);
        *ret_server = server;
        *ret_client = client;
}

static inline int fake_bus_on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        sd_bus_message **ret = userdata;

        (void) ret_error;
        *ret = sd_bus_message_ref(reply);
        return 0;
}

/* Send @call on @client, run both ends (the daemon's on @event) until the answer: the reply or the error. */
static inline sd_bus_message *fake_bus_send(sd_bus *client, sd_event *event, sd_bus_message *call) {
        sd_bus_message *reply = NULL;

        assert_true(sd_bus_call_async(client, NULL, call, fake_bus_on_reply, &reply, 0) >= 0);
        /* The client takes in all it has before each turn of the daemon's loop: the reply as soon as it is sent. */
        for (unsigned i = 0; !reply && i < 100000; i++) {
                int r;

                while ((r = sd_bus_process(client, NULL)) > 0 && !reply)
                        ;
                assert_true(r >= 0);
                /* A method answered from a worker's thread: give it a moment after the first thousand turns. */
                if (!reply)
                        assert_true(sd_event_run(event, i < 1000 ? 0 : 1000) >= 0);
        }
        assert_non_null(reply);
        return reply;
}
