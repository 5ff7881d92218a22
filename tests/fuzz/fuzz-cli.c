/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl's reading and printing of what passthrud sends: the input is
 * a daemon's answer.  A stand-in server on the other end of a socketpair
 * (peer-to-peer D-Bus, served by a thread) answers GetManagedObjects and
 * Properties.GetAll with objects and properties built from the input
 * (hostile names: control characters, escapes, newlines, C1 codes, RTL
 * overrides, 4 KiB strings; wrong types, duplicates, missing fields), and
 * any other call with an error.  Through the real client code
 * (cli/client.c, cli/verbs.c, cli/output.c), `list`, `list --json` and
 * `show` must then: not crash or leak; print no control character but the
 * line ends (no escape reaches the terminal); print one line per device in
 * `list`; print JSON that parses, with one element per device.
 */
#include <pthread.h>
#include <signal.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include <sys/socket.h>

#include "client.h"
#include "fuzz-util.h"
#include "macro.h"
#include "passthru-names.h"
#include "passthructl.h"

static sd_bus *client, *server;

/*
 * The input, as the server thread reads it: a copy of its own, swapped
 * under the lock, so that an answer the server makes late (to a call the
 * client gave up on) reads memory that is still there.
 */
static pthread_mutex_t input_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *input;
static size_t input_size;

/*
 * A string of up to @max bytes that is valid UTF-8 (sd-bus refuses the
 * rest): input bytes below 0x80 as they are (NUL as 0x01), higher ones as
 * one of a few multi-byte characters that terminals treat specially.
 */
static char *take_hostile_utf8(Cursor *c, size_t max) {
        static const char *const wide[] = {
                "\xc2\x9b",     /* U+009B CSI, a C1 control */
                "\xc2\x85",     /* U+0085 NEL */
                "\xe2\x80\xae", /* U+202E right-to-left override */
                "\xc3\xa9",     /* é */
                "\xef\xbf\xbd", /* U+FFFD */
                "\xf0\x9f\x92\xa3",
        };
        size_t n = (take(c) | take(c) << 8) % (max + 1), len = 0;
        char *s = malloc(n * 4 + 1);

        if (!s)
                abort();
        for (size_t i = 0; i < n && c->left > 0; i++) {
                unsigned b = take(c);

                if (b >= 0x80) {
                        const char *w = wide[b % ELEMENTSOF(wide)];

                        memcpy(s + len, w, strlen(w));
                        len += strlen(w);
                } else
                        s[len++] = b ?: 1;
        }
        s[len] = '\0';
        return s;
}

static const char *const property_names[] = {
        "Address", "State", "Driver", "Owner", "Name", "ResetHint", "GroupDevices", "Assignments",
        "ResetMethods", "ResetResults", "Passthrough", "Viable", "Pcie", "Msi", "MsiX", "VendorId",
        "DeviceId", "Class", "OwnerPid", "IommuGroup", "Stuck", "PhysicalFunction", "VirtualFunctions", "TotalVFs",
        "NumVFs",
};

/* One property: a name (mostly a real one) and a value of a type the input picks. */
static int append_property(sd_bus_message *m, Cursor *c) {
        unsigned pick = take(c);
        char *name = pick < 224 ? strdup(property_names[pick % ELEMENTSOF(property_names)]) : take_hostile_utf8(c, 40);
        char *s = NULL;
        int r;

        if (!name)
                abort();
        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        switch (take(c) % 8) {
        case 0:
        case 1:
                s = take_hostile_utf8(c, 4096);
                if (r >= 0)
                        r = sd_bus_message_append(m, "v", "s", s);
                break;
        case 2: {
                unsigned n = take(c) % 40;

                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                for (unsigned i = 0; i < n && r >= 0; i++) {
                        free(s);
                        s = take_hostile_utf8(c, 300);
                        r = sd_bus_message_append(m, "s", s);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                break;
        }
        case 3:
                if (r >= 0)
                        r = sd_bus_message_append(m, "v", "b", take(c) & 1);
                break;
        case 4:
                if (r >= 0)
                        r = sd_bus_message_append(m, "v", "q", (uint16_t) (take(c) | take(c) << 8));
                break;
        case 5:
                if (r >= 0)
                        r = sd_bus_message_append(m, "v", "u", (uint32_t) (take(c) | take(c) << 8 | take(c) << 24));
                break;
        case 6:
                if (r >= 0)
                        r = sd_bus_message_append(m, "v", "i", (int32_t) (take(c) | take(c) << 24));
                break;
        default:
                if (r >= 0)
                        r = sd_bus_message_append(m, "v", "t", (uint64_t) take(c) << 40);
                break;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        free(name);
        free(s);
        return r;
}

static int append_properties(sd_bus_message *m, Cursor *c) {
        unsigned n = take(c) % 32;
        int r = sd_bus_message_open_container(m, 'a', "{sv}");

        for (unsigned i = 0; i < n && r >= 0; i++)
                r = append_property(m, c);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* GetManagedObjects' answer: up to 16 objects, most of them Devices. */
static int append_objects(sd_bus_message *m, Cursor *c) {
        unsigned n = take(c) % 17;
        int r = sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}");

        for (unsigned i = 0; i < n && r >= 0; i++) {
                char path[64];
                unsigned ifaces = take(c) % 3 + 1;

                snprintf(path, sizeof(path), "%s/_30000_3a%02x_3a00_2e%u", PT_DEVICE_PATH_PREFIX, take(c), take(c) % 8);
                r = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}");
                if (r >= 0)
                        r = sd_bus_message_append(m, "o", path);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
                for (unsigned j = 0; j < ifaces && r >= 0; j++) {
                        r = sd_bus_message_open_container(m, 'e', "sa{sv}");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", take(c) < 200 ? PT_DEVICE_INTERFACE :
                                                                  "org.freedesktop.DBus.Properties");
                        if (r >= 0)
                                r = append_properties(m, c);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* The stand-in passthrud: every call answered from the whole input, the same way each time. */
static int answer_locked(sd_bus_message *call) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Cursor c = { input, input_size };
        int r;

        if (sd_bus_message_is_method_call(call, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")) {
                r = sd_bus_message_new_method_return(call, &reply);
                if (r >= 0)
                        r = append_objects(reply, &c);
        } else if (sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Properties", "GetAll")) {
                r = sd_bus_message_new_method_return(call, &reply);
                if (r >= 0)
                        r = append_properties(reply, &c);
        } else
                r = -EOPNOTSUPP;
        if (r < 0) {
                _cleanup_free_ char *text = take_hostile_utf8(&c, 200);

                return sd_bus_reply_method_errorf(call, take(&c) & 1 ? PT_ERROR_DEVICE_BUSY : "org.example.Weird",
                                                  "%s", text);
        }
        return sd_bus_send(NULL, reply, NULL);
}

static int answer(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        uint8_t type;
        int r;

        (void) userdata;
        (void) ret_error;
        if (sd_bus_message_get_type(call, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL ||
            sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Peer", NULL))
                return 0;       /* Peer.Ping: sd-bus answers it */
        pthread_mutex_lock(&input_lock);
        r = answer_locked(call);
        pthread_mutex_unlock(&input_lock);
        return r;
}

/*
 * The server's thread.  libFuzzer's SIGALRM (its -timeout watch) may land
 * on this thread and cut a wait short: that is no reason to stop serving
 * (a 600 s run timed out in the client's next call once this thread had
 * ended on -EINTR).
 */
static void *serve(void *arg) {
        (void) arg;
        for (;;) {
                int r = sd_bus_process(server, NULL);

                if (r == -EINTR)
                        continue;
                if (r < 0)
                        fuzz_fail("the stand-in server failed: %s", strerror(-r));
                if (r > 0)
                        continue;
                r = sd_bus_wait(server, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        fuzz_fail("the stand-in server cannot wait: %s", strerror(-r));
        }
        return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        pthread_t thread;
        sd_id128_t id;
        int fds[2];

        (void) argc;
        (void) argv;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_id128_randomize(&id) < 0 ||
            sd_bus_new(&server) < 0 || sd_bus_set_fd(server, fds[1], fds[1]) < 0 ||
            sd_bus_set_server(server, 1, id) < 0 || sd_bus_add_filter(server, NULL, answer, NULL) < 0 ||
            sd_bus_start(server) < 0 || sd_bus_new(&client) < 0 || sd_bus_set_fd(client, fds[0], fds[0]) < 0 ||
            sd_bus_start(client) < 0)
                fuzz_fail("cannot set up the peer-to-peer bus");
        if (pthread_create(&thread, NULL, serve, NULL) != 0)
                fuzz_fail("cannot start the server thread");
        /*
         * The client's calls are passthructl's own, which no signal interrupts
         * in use; libFuzzer's SIGALRM did, as an -EINTR that the verb reported
         * as a failed call ("list and get_devices disagree: -5, 0" after 500 s).
         * The alarm goes to the server thread instead, which waits again.
         */
        sigset_t alarm;

        sigemptyset(&alarm);
        sigaddset(&alarm, SIGALRM);
        if (pthread_sigmask(SIG_BLOCK, &alarm, NULL) != 0)
                fuzz_fail("cannot block SIGALRM in the client's thread");
        return 0;
}

/* Run @verb with stdout into a buffer (returned, NUL-terminated) and stderr muted. */
static int run_captured(int (*verb)(sd_bus *, char **), char **args, char **ret_out) {
        FILE *saved_out = stdout, *saved_err = stderr, *out, *null;
        size_t len = 0;
        int r;

        *ret_out = NULL;
        out = open_memstream(ret_out, &len);
        null = fopen("/dev/null", "w");
        if (!out || !null)
                abort();
        stdout = out;
        stderr = null;
        r = verb(client, args);
        stdout = saved_out;
        stderr = saved_err;
        fclose(out);
        fclose(null);
        return r;
}

/* Nothing that a terminal acts on: no C0 control but the line end, no DEL, no C1 control. */
static void assert_printable(const char *what, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                fuzz_assert(*p == '\n' || (*p >= 0x20 && *p != 0x7f), "%s printed control byte 0x%02x at %zu", what,
                            *p, (size_t) (p - (const unsigned char *) s));
                fuzz_assert(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f), "%s printed a C1 control (U+%04X)",
                            what, p[1]);
        }
}

static size_t count_lines(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *show_args[] = { (char *) "01:00.0", NULL };
        DeviceInfo *devs = NULL;
        size_t n = 0;
        char *out;
        int r, listed;

        pthread_mutex_lock(&input_lock);
        free(input);
        input = malloc(size ?: 1);
        if (!input)
                abort();
        memcpy(input, data, size);
        input_size = size;
        pthread_mutex_unlock(&input_lock);
        arg_legend = false;     /* list: one line per device, nothing else */

        /* What the client makes of the answer: the count the printed forms must agree with. */
        FILE *saved_err = stderr, *null = fopen("/dev/null", "w");

        if (!null)
                abort();
        stderr = null;
        listed = get_devices(client, &devs, &n);
        stderr = saved_err;
        fclose(null);
        for (size_t i = 0; listed >= 0 && i < n; i++) {
                fuzz_assert(devs[i].address && devs[i].state, "a device without Address or State was accepted");
                assert_printable("a device's strings", devs[i].address);
                assert_printable("a device's strings", devs[i].state);
                assert_printable("a device's strings", devs[i].name ?: "");
                assert_printable("a device's strings", devs[i].owner ?: "");
        }
        device_infos_free(devs, listed >= 0 ? n : 0);

        arg_json = false;
        r = run_captured(verb_list, NULL, &out);
        fuzz_assert((r >= 0) == (listed >= 0), "list and get_devices disagree: %d, %d", r, listed);
        assert_printable("list", out);
        if (r >= 0)
                fuzz_assert(count_lines(out) == n, "list printed %zu lines for %zu devices", count_lines(out), n);
        free(out);

        arg_json = true;
        r = run_captured(verb_list, NULL, &out);
        if (r >= 0) {
                json_object *o = json_tokener_parse(out);

                fuzz_assert(o && json_object_is_type(o, json_type_array), "list --json printed no JSON array: %.200s",
                            out);
                fuzz_assert(json_object_array_length(o) == n, "list --json has %zu elements for %zu devices",
                            json_object_array_length(o), n);
                json_object_put(o);
        }
        free(out);

        arg_json = false;
        r = run_captured(verb_show, show_args, &out);
        assert_printable("show", out);
        free(out);

        /* The server has answered everything sent so far (it answers in order). */
        r = sd_bus_call_method(client, NULL, "/", "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, NULL);
        fuzz_assert(r >= 0, "the stand-in server stopped answering: %d", r);
        return 0;
}
