/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrud at scale, counted rather than timed: a manager on a fake sysfs
 * of N devices (a bridge's group, multi-function groups, singletons, some
 * on a host driver) serves a peer-to-peer bus, and sysfs.c counts every
 * read of the tree (sysfs_reads()) for its start, ListDevices and
 * GetManagedObjects.  At 32 and 128 devices the counts must grow no faster
 * than the devices do (a step quadratic in devices gives 16x, not 4x);
 * the bus calls, once the caches are filled, read nothing.  And the caches
 * follow the events: a member bound to a host driver makes its siblings'
 * Viable false, a member removed leaves GroupDevices.
 *
 * PT_SCALE_REPORT=1 prints the counts and wall times (not checked: the
 * machine decides those; make bench measures them in a VM).
 */
#include "fake-manager.h"
#include "fake-sysfs.h"
#include "fake-bus.h"

#include <sys/socket.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "device.h"
#include "device-dbus.h"
#include "lease.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-names.h"
#include "state.h"
#include "strv.h"
#include "sysfs.h"

#define BRIDGE "0000:00:1c.0"
#define BR_A   "0000:01:00.0"
#define BR_B   "0000:01:00.1"
#define MULTI_GROUPS 4
#define MULTI_FUNCS 4
/* Endpoints that are not singletons: the bridge's two and the multi-function groups'. */
#define SHARED (2 + MULTI_GROUPS * MULTI_FUNCS)

typedef struct Fx {
        char *root;
        bool own_root;
        FakeManagerPaths paths;
        Manager *m;
        sd_event *event;
        sd_bus *server, *client;
} Fx;

static void multi_address(unsigned g, unsigned f, char out[PCI_ADDRESS_LEN]) {
        snprintf(out, PCI_ADDRESS_LEN, "0000:%02x:00.%x", 0x02 + g, f);
}

static void single_address(unsigned i, char out[PCI_ADDRESS_LEN]) {
        snprintf(out, PCI_ADDRESS_LEN, "0000:%02x:00.0", 0x10 + i);
}

/*
 * Endpoints [@from, @to) of the tree at @root, in this order (so that one
 * tree grows from 32 to 64 to 128 devices):
 *   0-1            BR_A and BR_B on passthru, in group 1 with BRIDGE
 *                  (pcieport, not tracked), added with them
 *   2-17           4 functions each of bus 02-05 (groups 2-5), on passthru
 *   18-...         one device each, bus 10 on (groups 6-...): every 8th on
 *                  e1000e and not marked, the others on passthru
 * The state file marks every device on passthru of [0, @to).
 */
static void tree_add(const char *root, unsigned from, unsigned to) {
        _cleanup_free_ char *state = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&state, &size);
        char a[PCI_ADDRESS_LEN];

        assert_non_null(f);
        assert_true(from == 0 || from >= SHARED);
        assert_true(to >= SHARED && to - SHARED < 0xe0);
        if (from == 0) {
                fake_pci_add(root, &(FakePci) {
                        .address = BRIDGE, .vendor = 0x8086, .device = 0x7abc, .class = 0x060400,
                        .driver = "pcieport", .iommu_group = 1, .pcie = true,
                });
                fake_pci_add(root, &(FakePci) { .address = BR_A, .driver = "passthru", .iommu_group = 1 });
                fake_pci_add(root, &(FakePci) { .address = BR_B, .driver = "passthru", .iommu_group = 1 });
                for (unsigned g = 0; g < MULTI_GROUPS; g++)
                        for (unsigned fn = 0; fn < MULTI_FUNCS; fn++) {
                                multi_address(g, fn, a);
                                fake_pci_add(root, &(FakePci) {
                                        .address = a, .driver = "passthru", .iommu_group = 2 + (int) g,
                                        .msi = true, .pcie = true,
                                });
                        }
        }
        fprintf(f, "[Device %s]\nPassthrough=yes\n\n[Device %s]\nPassthrough=yes\n\n", BR_A, BR_B);
        for (unsigned g = 0; g < MULTI_GROUPS; g++)
                for (unsigned fn = 0; fn < MULTI_FUNCS; fn++) {
                        multi_address(g, fn, a);
                        fprintf(f, "[Device %s]\nPassthrough=yes\n\n", a);
                }
        for (unsigned i = 0; i < to - SHARED; i++) {
                bool host = i % 8 == 7;

                single_address(i, a);
                if (i + SHARED >= from)
                        fake_pci_add(root, &(FakePci) {
                                .address = a, .driver = host ? "e1000e" : "passthru",
                                .vendor = host ? 0x8086 : 0, .device = host ? 0x10d3 : 0,
                                .class = host ? 0x020000 : 0, .iommu_group = 2 + MULTI_GROUPS + (int) i,
                                .msix = true, .pcie = true,
                        });
                if (!host)
                        fprintf(f, "[Device %s]\nPassthrough=yes\n\n", a);
        }
        assert_int_equal(fclose(f), 0);
        fake_mkdir_p(root, "var/lib/passthru");
        fake_write(root, "var/lib/passthru/" STATE_FILE_NAME, state);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static bool reporting(void) {
        const char *e = getenv("PT_SCALE_REPORT");

        return e && *e && strcmp(e, "0") != 0;
}

/*
 * A manager loaded from @root's tree of @n devices (its reads into
 * *load_reads), serving a peer-to-peer bus.  With @root NULL, a tree of its
 * own, made here and removed by fx_free().
 */
static Fx *fx_new(const char *root, unsigned n, unsigned long *load_reads) {
        Fx *fx = calloc(1, sizeof(*fx));
        unsigned long before;
        uint64_t t;

        assert_non_null(fx);
        fx->own_root = !root;
        fx->root = root ? (char *) root : fake_sysfs_new();
        fake_manager_paths(fx->root, &fx->paths);
        if (fx->own_root)
                tree_add(fx->root, 0, n);

        before = sysfs_reads();
        t = now_usec();
        assert_int_equal(manager_new(&fx->paths.paths, &fx->m), 0);
        assert_int_equal(manager_load(fx->m), 0);
        t = now_usec() - t;
        if (load_reads)
                *load_reads = sysfs_reads() - before;
        if (reporting())
                fprintf(stderr, "# %u devices: load %lu sysfs reads, %.3f ms\n", n, sysfs_reads() - before,
                        (double) t / 1000);
        assert_int_equal(fx->m->n_devices, n);

        assert_int_equal(sd_event_new(&fx->event), 0);
        assert_int_equal(manager_attach_event(fx->m, fx->event), 0);
        fake_bus_pair(&fx->server, &fx->client);
        assert_int_equal(manager_bus_publish(fx->m, fx->server), 0);
        return fx;
}

static void fx_free(Fx *fx) {
        /* Not flushed: a client that never called may not have finished its handshake. */
        sd_bus_close_unref(fx->client);
        /* The manager holds the server (m->bus): manager_free() closes it. */
        sd_bus_unref(fx->server);
        manager_free(fx->m);
        sd_event_unref(fx->event);
        fake_manager_paths_free(&fx->paths);
        if (fx->own_root)
                fake_sysfs_free(fx->root);
        free(fx);
}

/* Send @call, run both ends until the answer; the sysfs reads in *reads. */
static sd_bus_message *fx_send(Fx *fx, sd_bus_message *call, unsigned long *reads) {
        unsigned long before = sysfs_reads();
        sd_bus_message *reply = fake_bus_send(fx->client, fx->event, call);

        if (sd_bus_message_is_method_error(reply, NULL))
                fail_msg("%s: %s: %s", sd_bus_message_get_member(call), sd_bus_message_get_error(reply)->name,
                         sd_bus_message_get_error(reply)->message);
        if (reads)
                *reads = sysfs_reads() - before;
        return reply;
}

/* Call @member of @interface on the manager object. */
static sd_bus_message *fx_call(Fx *fx, const char *interface, const char *member, unsigned long *reads) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;

        assert_int_equal(sd_bus_message_new_method_call(fx->client, &call, PT_BUS_NAME, PT_MANAGER_PATH, interface,
                                                        member), 0);
        return fx_send(fx, call, reads);
}

/* ListDevices: the number of devices it lists (with @driver NULL), or of those it lists on @driver. */
static unsigned list_devices_on(Fx *fx, const char *driver, unsigned long *reads) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = fx_call(fx, PT_MANAGER_INTERFACE, "ListDevices",
                                                                          reads);
        const char *address, *st, *drv, *vm, *path;
        unsigned n = 0;
        int r;

        assert_int_equal(sd_bus_message_enter_container(reply, 'a', "(sssso)"), 1);
        while ((r = sd_bus_message_read(reply, "(sssso)", &address, &st, &drv, &vm, &path)) > 0)
                n += !driver || strcmp(drv, driver) == 0;
        assert_int_equal(r, 0);
        return n;
}

static unsigned list_devices(Fx *fx, unsigned long *reads) {
        return list_devices_on(fx, NULL, reads);
}

/* What GetManagedObjects says of one device. */
typedef struct Seen {
        bool found;
        int viable;             /* -1: not in the answer */
        char **group_devices;
} Seen;

/* GetManagedObjects: the number of device objects, and what it says of @address (NULL: nothing) in *seen. */
static unsigned managed_objects(Fx *fx, const char *address, Seen *seen, unsigned long *reads) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = fx_call(fx, "org.freedesktop.DBus.ObjectManager",
                                                                          "GetManagedObjects", reads);
        _cleanup_free_ char *want = NULL;
        const char *path;
        unsigned n = 0;
        int r;

        if (address)
                assert_true(sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, address, &want) >= 0);
        if (seen)
                *seen = (Seen) { .viable = -1 };
        assert_int_equal(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), 1);
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                bool device, mine;

                assert_int_equal(sd_bus_message_read(reply, "o", &path), 1);
                device = strncmp(path, PT_DEVICE_PATH_PREFIX "/", strlen(PT_DEVICE_PATH_PREFIX) + 1) == 0;
                mine = want && strcmp(path, want) == 0;
                n += device;
                if (!mine) {
                        assert_int_equal(sd_bus_message_skip(reply, "a{sa{sv}}"), 1);
                        assert_int_equal(sd_bus_message_exit_container(reply), 1);
                        continue;
                }
                seen->found = true;
                assert_int_equal(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}"), 1);
                while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
                        const char *interface;

                        assert_int_equal(sd_bus_message_read(reply, "s", &interface), 1);
                        assert_int_equal(sd_bus_message_enter_container(reply, 'a', "{sv}"), 1);
                        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                                const char *name;
                                int b;

                                assert_int_equal(sd_bus_message_read(reply, "s", &name), 1);
                                if (strcmp(interface, PT_DEVICE_INTERFACE) == 0 && strcmp(name, "Viable") == 0) {
                                        assert_int_equal(sd_bus_message_read(reply, "v", "b", &b), 1);
                                        seen->viable = b;
                                } else if (strcmp(interface, PT_DEVICE_INTERFACE) == 0 &&
                                           strcmp(name, "GroupDevices") == 0) {
                                        assert_int_equal(sd_bus_message_enter_container(reply, 'v', "as"), 1);
                                        assert_true(sd_bus_message_read_strv(reply, &seen->group_devices) >= 0);
                                        assert_int_equal(sd_bus_message_exit_container(reply), 1);
                                } else
                                        assert_int_equal(sd_bus_message_skip(reply, "v"), 1);
                                assert_int_equal(sd_bus_message_exit_container(reply), 1);
                        }
                        assert_int_equal(sd_bus_message_exit_container(reply), 1);
                        assert_int_equal(sd_bus_message_exit_container(reply), 1);
                }
                assert_int_equal(sd_bus_message_exit_container(reply), 1);
                assert_int_equal(sd_bus_message_exit_container(reply), 1);
        }
        assert_int_equal(r, 0);
        return n;
}

/* ---- counts ---- */

typedef struct Counts {
        unsigned long load, list, managed_first, managed_again, list_again;
} Counts;

/* @root's tree grown to @n devices: what loading it and the bus calls read. */
static Counts count_at(const char *root, unsigned n) {
        unsigned long load = 0;
        Fx *fx;

        tree_add(root, n == 32 ? 0 : n / 2, n);
        fx = fx_new(root, n, &load);
        Counts c = { .load = load };
        uint64_t t[4];

        t[0] = now_usec();
        assert_int_equal(list_devices(fx, &c.list), n);
        t[1] = now_usec();
        assert_int_equal(managed_objects(fx, NULL, NULL, &c.managed_first), n);
        t[2] = now_usec();
        assert_int_equal(managed_objects(fx, NULL, NULL, &c.managed_again), n);
        t[3] = now_usec();
        assert_int_equal(list_devices(fx, &c.list_again), n);
        if (reporting())
                fprintf(stderr,
                        "# %u devices: ListDevices %lu reads %.3f ms; GetManagedObjects %lu reads %.3f ms, "
                        "again %lu reads %.3f ms\n",
                        n, c.list, (double) (t[1] - t[0]) / 1000, c.managed_first, (double) (t[2] - t[1]) / 1000,
                        c.managed_again, (double) (t[3] - t[2]) / 1000);
        fx_free(fx);
        return c;
}

/*
 * Linear: the 64 devices added from 64 to 128 cost no more reads than the
 * 32 added from 32 to 64, twice (quadratic: four times).  The groups that
 * all three trees share cancel out.
 */
static void assert_linear(const char *what, unsigned long at32, unsigned long at64, unsigned long at128) {
        if (at64 < at32 || at128 < at64 || at128 - at64 > 2 * (at64 - at32))
                fail_msg("%s: %lu sysfs reads at 32 devices, %lu at 64, %lu at 128: not linear", what, at32, at64,
                         at128);
}

/* The tree of 128 devices, made once (a few seconds of file creation on a busy host) for the tests that want it. */
static char *tree128;

static int trees_teardown(void **state) {
        (void) state;
        fake_sysfs_free(TAKE_PTR(tree128));
        return 0;
}

static void reads_grow_linearly_then_cached_calls_read_nothing(void **state) {
        char *root = fake_sysfs_new();
        Counts a = count_at(root, 32), b = count_at(root, 64), c = count_at(root, 128);

        (void) state;
        if (tree128)
                fake_sysfs_free(root);
        else
                tree128 = root;
        assert_linear("start", a.load, b.load, c.load);
        assert_linear("ListDevices", a.list, b.list, c.list);
        assert_linear("GetManagedObjects", a.managed_first, b.managed_first, c.managed_first);
        /* Every device is read at start: the counter counts. */
        assert_true(c.load > a.load && c.managed_first > a.managed_first);

        /* Once the caches are filled, the bus's answers read nothing. */
        assert_int_equal(c.list, 0);
        assert_int_equal(c.list_again, 0);
        assert_int_equal(c.managed_again, 0);
        /* The first one fills each group's entry once: no more than a few reads per device. */
        if (c.managed_first > 4 * 128)
                fail_msg("the first GetManagedObjects read sysfs %lu times for 128 devices", c.managed_first);
}

/*
 * A bridge is not tracked, and costs the start two reads (its class and its
 * group), not a device's: a host has about as many bridges as endpoints.
 */
static void a_bridge_costs_the_start_its_class_and_its_group(void **state) {
        char *root = fake_sysfs_new();
        unsigned long without = 0, with = 0;
        char a[PCI_ADDRESS_LEN];
        Fx *fx;

        (void) state;
        tree_add(root, 0, 32);
        fx = fx_new(root, 32, &without);
        fx_free(fx);
        for (unsigned i = 0; i < 32; i++) {
                /* Root ports on bus 00 (the tree has its own bridge at 00:1c.0 only). */
                snprintf(a, sizeof(a), "0000:00:%02x.%x", 8 + i / 8, i % 8);
                fake_pci_add(root, &(FakePci) {
                        .address = a, .vendor = 0x8086, .device = 0x7abc, .class = 0x060400,
                        .driver = "pcieport", .iommu_group = 100 + (int) i, .pcie = true,
                });
        }
        fx = fx_new(root, 32, &with);
        assert_int_equal(with - without, 2 * 32);
        fx_free(fx);
        fake_sysfs_free(root);
}

/* ---- the caches follow the events ---- */

/* GetManagedObjects' Viable of @address. */
static int viable_of(Fx *fx, const char *address) {
        Seen seen;

        managed_objects(fx, address, &seen, NULL);
        assert_true(seen.found);
        strv_free(seen.group_devices);
        return seen.viable;
}

/* PropertiesChanged of a device's Viable as the client heard it: -1 none yet. */
typedef struct Heard {
        const char *path;
        int viable;
} Heard;

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Heard *h = userdata;
        const char *interface, *name;
        int r, b;

        (void) ret_error;
        if (strcmp(sd_bus_message_get_path(m), h->path) != 0)
                return 0;
        assert_int_equal(sd_bus_message_read(m, "s", &interface), 1);
        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{sv}"), 1);
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                assert_int_equal(sd_bus_message_read(m, "s", &name), 1);
                if (strcmp(name, "Viable") == 0) {
                        assert_int_equal(sd_bus_message_read(m, "v", "b", &b), 1);
                        h->viable = b;
                } else
                        assert_int_equal(sd_bus_message_skip(m, "v"), 1);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
        }
        assert_int_equal(r, 0);
        return 0;
}

/* Let the client take in what the daemon sent. */
static void fx_hear(Fx *fx) {
        int r;

        while ((r = sd_bus_process(fx->client, NULL)) > 0)
                ;
        assert_int_equal(r, 0);
}

/* udev says @member is bound to @driver now: the daemon re-reads it, as on_refresh() does. */
static void fx_rebind(Fx *fx, const char *member, const char *driver) {
        fake_bind(fx->root, member, driver);
        manager_refresh_device(fx->m, member);
}

static void member_bound_to_a_host_driver_makes_its_siblings_not_viable(void **state) {
        char a[PCI_ADDRESS_LEN], b[PCI_ADDRESS_LEN];
        _cleanup_free_ char *path = NULL;
        Fx *fx = fx_new(NULL, SHARED + 2, NULL);
        Heard heard = { .viable = -1 };

        (void) state;
        multi_address(1, 0, a);
        multi_address(1, 3, b);
        assert_true(sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, a, &path) >= 0);
        heard.path = path;
        assert_true(sd_bus_match_signal(fx->client, NULL, NULL, NULL, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_properties_changed, &heard) >= 0);
        assert_int_equal(viable_of(fx, a), 1);

        /* The sibling's answer changes, and so does what it announces. */
        fx_rebind(fx, b, "e1000e");
        assert_int_equal(viable_of(fx, a), 0);
        fx_hear(fx);
        assert_int_equal(heard.viable, 0);

        fx_rebind(fx, b, "passthru");
        assert_int_equal(viable_of(fx, a), 1);
        fx_hear(fx);
        assert_int_equal(heard.viable, 1);
        fx_free(fx);
}

/* Every PropertiesChanged of a device: the names it carried, one announcement a line. */
typedef struct HeardNames {
        const char *path;
        char text[1024];
} HeardNames;

static int on_properties_named(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        HeardNames *h = userdata;
        const char *interface, *name;
        int r;

        (void) ret_error;
        if (strcmp(sd_bus_message_get_path(m), h->path) != 0)
                return 0;
        assert_int_equal(sd_bus_message_read(m, "s", &interface), 1);
        assert_string_equal(interface, PT_DEVICE_INTERFACE);
        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{sv}"), 1);
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                assert_int_equal(sd_bus_message_read(m, "s", &name), 1);
                assert_int_equal(sd_bus_message_skip(m, "v"), 1);
                assert_int_equal(sd_bus_message_exit_container(m), 1);
                strncat(h->text, name, sizeof(h->text) - strlen(h->text) - 2);
                strcat(h->text, " ");
        }
        assert_int_equal(r, 0);
        strcat(h->text, "|");
        return 0;
}

/* What the daemon queued reaches the client: a call (its loop writes its queue on the way), then the client's turn. */
static void fx_flush_and_hear(Fx *fx) {
        sd_bus_message_unref(fx_call(fx, "org.freedesktop.DBus.Peer", "Ping", NULL));
        fx_hear(fx);
}

/*
 * An announcement names what changed, not every property that can: the
 * member that a host driver took says its Driver, State and Viable; its
 * sibling only its Viable; and when the member comes back, the same again.
 */
static void announcements_name_only_what_changed(void **state) {
        char a[PCI_ADDRESS_LEN], b[PCI_ADDRESS_LEN];
        _cleanup_free_ char *path_a = NULL, *path_b = NULL;
        Fx *fx = fx_new(NULL, SHARED + 2, NULL);
        HeardNames heard_a = {}, heard_b = {};

        (void) state;
        multi_address(1, 0, a);
        multi_address(1, 3, b);
        assert_true(sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, a, &path_a) >= 0);
        assert_true(sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, b, &path_b) >= 0);
        heard_a.path = path_a;
        heard_b.path = path_b;
        assert_true(sd_bus_match_signal(fx->client, NULL, NULL, NULL, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_properties_named, &heard_a) >= 0);
        assert_true(sd_bus_match_signal(fx->client, NULL, NULL, NULL, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_properties_named, &heard_b) >= 0);
        /* What each says now is the baseline: nothing changed, nothing said. */
        device_send_changed(fx->m, manager_find_device(fx->m, a));
        device_send_changed(fx->m, manager_find_device(fx->m, b));
        fx_flush_and_hear(fx);
        heard_a.text[0] = heard_b.text[0] = '\0';
        device_send_changed(fx->m, manager_find_device(fx->m, a));
        fx_flush_and_hear(fx);
        assert_string_equal(heard_a.text, "");

        fx_rebind(fx, b, "e1000e");
        fx_flush_and_hear(fx);
        assert_string_equal(heard_b.text, "Driver State Viable |");
        assert_string_equal(heard_a.text, "Viable |");

        heard_a.text[0] = heard_b.text[0] = '\0';
        fx_rebind(fx, b, "passthru");
        fx_flush_and_hear(fx);
        assert_string_equal(heard_b.text, "Driver State Viable |");
        assert_string_equal(heard_a.text, "Viable |");
        fx_free(fx);
}

/*
 * A member the daemon does not track (here: dropped from its books) whose
 * event finds it on a host driver, and whose attributes cannot be read:
 * its group is read again all the same, and is not viable.
 */
static void an_unreadable_members_event_still_reaches_its_group(void **state) {
        char a[PCI_ADDRESS_LEN], b[PCI_ADDRESS_LEN], rel[128];
        Fx *fx = fx_new(NULL, SHARED + 2, NULL);

        (void) state;
        multi_address(3, 0, a);
        multi_address(3, 1, b);
        manager_remove_device(fx->m, manager_find_device(fx->m, b));
        assert_int_equal(viable_of(fx, a), 1);

        fake_bind(fx->root, b, "e1000e");
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/vendor", b);
        fake_write(fx->root, rel, "not hex\n");
        manager_refresh_device(fx->m, b);
        assert_null(manager_find_device(fx->m, b));
        assert_int_equal(viable_of(fx, a), 0);
        fx_free(fx);
}

static void bridge_bound_to_another_driver_makes_its_group_not_viable(void **state) {
        Fx *fx = fx_new(NULL, SHARED + 2, NULL);

        (void) state;
        assert_int_equal(viable_of(fx, BR_A), 1);
        /* The bridge is not a tracked device: its event still reaches its group. */
        fx_rebind(fx, BRIDGE, "shpchp-test");
        assert_int_equal(viable_of(fx, BR_A), 0);
        assert_int_equal(viable_of(fx, BR_B), 0);
        fx_free(fx);
}

static void removed_member_leaves_group_devices(void **state) {
        char a[PCI_ADDRESS_LEN], b[PCI_ADDRESS_LEN], rel[128];
        Fx *fx = fx_new(NULL, SHARED + 2, NULL);
        Seen seen;

        (void) state;
        multi_address(2, 0, a);
        multi_address(2, 2, b);
        managed_objects(fx, a, &seen, NULL);
        assert_int_equal(strv_length(seen.group_devices), MULTI_FUNCS);
        assert_true(strv_contains(seen.group_devices, b));
        strv_free(seen.group_devices);

        /* Hot-removed: gone from the bus and from its group, as the kernel does it. */
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s", b);
        fake_unlink(fx->root, rel);
        snprintf(rel, sizeof(rel), "kernel/iommu_groups/4/devices/%s", b);
        fake_unlink(fx->root, rel);
        manager_refresh_device(fx->m, b);
        assert_null(manager_find_device(fx->m, b));

        assert_int_equal(managed_objects(fx, a, &seen, NULL), SHARED + 2 - 1);
        assert_int_equal(strv_length(seen.group_devices), MULTI_FUNCS - 1);
        assert_false(strv_contains(seen.group_devices, b));
        assert_int_equal(seen.viable, 1);
        strv_free(seen.group_devices);
        fx_free(fx);
}

/* ---- a storm of events ---- */

/* Run the daemon's loop until it has nothing left to do. */
static void fx_settle(Fx *fx) {
        for (unsigned idle = 0, i = 0; idle < 3 && i < 100000; i++) {
                int r = sd_event_run(fx->event, 0);

                assert_true(r >= 0);
                idle = r == 0 ? idle + 1 : 0;
        }
}

/*
 * All 128 devices rebind at once (udev's events, coalesced): a call that
 * comes in meanwhile is answered after at most one batch of re-reading,
 * not after the whole storm; then every device shows its new driver.
 * Counted in sysfs reads, so that no clock decides.
 */
static void a_storm_of_events_answers_the_bus_between_batches(void **state) {
        unsigned long before, at_reply, total;
        Fx *fx;

        (void) state;
        if (!tree128) {
                tree128 = fake_sysfs_new();
                tree_add(tree128, 0, 128);
        }
        /* The storm changes the tree: nothing uses it afterwards. */
        fx = fx_new(tree128, 128, NULL);
        managed_objects(fx, NULL, NULL, NULL);
        for (size_t i = 0; i < fx->m->n_devices; i++) {
                fake_bind(fx->root, fx->m->devices[i]->address, "e1000e");
                manager_refresh_later(fx->m, fx->m->devices[i]->address);
        }
        before = sysfs_reads();
        /* The loop's first turn: the bus has nothing yet, the storm starts. */
        assert_true(sd_event_run(fx->event, 0) > 0);
        assert_int_equal(list_devices(fx, NULL), 128);
        at_reply = sysfs_reads() - before;
        fx_settle(fx);
        total = sysfs_reads() - before;
        if (reporting())
                fprintf(stderr, "# storm of 128: %lu sysfs reads in all, %lu before ListDevices was answered\n",
                        total, at_reply);
        /* One batch of 128 is BATCH/128 of the reads; twice that is the most it may wait for. */
        if (at_reply * 128 > total * 2 * MANAGER_REFRESH_BATCH)
                fail_msg("ListDevices waited for %lu of the storm's %lu sysfs reads (one batch: %u devices)",
                         at_reply, total, MANAGER_REFRESH_BATCH);
        assert_int_equal(list_devices_on(fx, "e1000e", NULL), 128);
        fx_free(fx);
}

/*
 * Queued is not ignored: a member another tool moved to vfio-pci, whose
 * event waits behind a storm, makes the grant refuse (a device that may
 * come from that tool's VM), though the bus still shows it available.
 */
static void grant_reads_a_member_whose_event_is_queued(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char a[PCI_ADDRESS_LEN], b[PCI_ADDRESS_LEN];
        Fx *fx = fx_new(NULL, SHARED + 2, NULL);

        (void) state;
        multi_address(3, 0, a);
        multi_address(3, 1, b);
        assert_int_equal(lease_check(fx->m, manager_find_device(fx->m, a), "vm", 0, NULL, &error), 0);

        fake_bind(fx->root, b, "vfio-pci");
        manager_refresh_later(fx->m, b);        /* queued: the loop has not run */
        assert_int_equal(device_state(manager_find_device(fx->m, b)), DEVICE_AVAILABLE);
        assert_true(lease_check(fx->m, manager_find_device(fx->m, a), "vm", 0, NULL, &error) < 0);
        assert_string_equal(error.name, PT_ERROR_DEVICE_BUSY);
        assert_non_null(strstr(error.message, b));
        sd_bus_error_free(&error);

        /* The device itself, too. */
        fake_bind(fx->root, a, "vfio-pci");
        manager_refresh_later(fx->m, a);
        assert_true(lease_check(fx->m, manager_find_device(fx->m, a), "vm", 0, NULL, &error) < 0);
        assert_string_equal(error.name, PT_ERROR_DEVICE_BUSY);
        fx_free(fx);
}

/* ---- GetManagedObjects, written by device-dbus.c ---- */

/* @m (sealed) as sd_bus_message_dump() prints it, from its start. */
static char *dump(sd_bus_message *m) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        assert_true(sd_bus_message_dump(m, f, SD_BUS_MESSAGE_DUMP_SUBTREE_ONLY) >= 0);
        assert_int_equal(fclose(f), 0);
        return text;
}

/*
 * passthrud answers GetManagedObjects itself (not through sd-bus's walk of
 * the object tree): the answer must be what sd-bus's would be, each device
 * with the three standard interfaces and exactly what its Properties.GetAll
 * says, in the vtable's order.  The expected message is built here from
 * GetAll's replies, whose properties sd-bus's own code writes.
 */
static void managed_objects_say_what_get_all_says(void **state) {
        static const char * const standard[] = {
                "org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties",
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *managed = NULL, *expected = NULL;
        _cleanup_free_ char *got = NULL, *want = NULL;
        Fx *fx = fx_new(NULL, 32, NULL);
        Device *d;

        (void) state;
        /* A device with reset results and a hint: lists and strings of its own. */
        d = fx->m->devices[3];
        assert_int_equal(strv_extend(&d->reset_results, "flr: ok"), 0);
        assert_int_equal(strv_extend(&d->reset_results, "bus: not tried"), 0);
        assert_non_null(d->reset_hint = strdup("a hint"));
        managed = fx_call(fx, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
        assert_int_equal(sd_bus_message_new_method_call(fx->client, &expected, PT_BUS_NAME, PT_MANAGER_PATH,
                                                        "org.example.Expected", "Expected"), 0);
        assert_true(sd_bus_message_open_container(expected, 'a', "{oa{sa{sv}}}") >= 0);
        for (size_t i = 0; i < fx->m->n_devices; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *all = NULL;
                const char *path = fx->m->devices[i]->object_path;

                assert_int_equal(sd_bus_message_new_method_call(fx->client, &call, PT_BUS_NAME, path,
                                                                "org.freedesktop.DBus.Properties", "GetAll"), 0);
                assert_true(sd_bus_message_append(call, "s", PT_DEVICE_INTERFACE) >= 0);
                all = fx_send(fx, call, NULL);
                assert_true(sd_bus_message_open_container(expected, 'e', "oa{sa{sv}}") >= 0);
                assert_true(sd_bus_message_append(expected, "o", path) >= 0);
                assert_true(sd_bus_message_open_container(expected, 'a', "{sa{sv}}") >= 0);
                for (size_t k = 0; k < ELEMENTSOF(standard); k++)
                        assert_true(sd_bus_message_append(expected, "{sa{sv}}", standard[k], 0) >= 0);
                assert_true(sd_bus_message_open_container(expected, 'e', "sa{sv}") >= 0);
                assert_true(sd_bus_message_append(expected, "s", PT_DEVICE_INTERFACE) >= 0);
                assert_true(sd_bus_message_copy(expected, all, true) >= 0);
                assert_true(sd_bus_message_close_container(expected) >= 0);
                assert_true(sd_bus_message_close_container(expected) >= 0);
                assert_true(sd_bus_message_close_container(expected) >= 0);
        }
        assert_true(sd_bus_message_close_container(expected) >= 0);
        assert_int_equal(sd_bus_message_seal(expected, 1, 0), 0);
        got = dump(managed);
        want = dump(expected);
        assert_string_equal(got, want);
        fx_free(fx);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(reads_grow_linearly_then_cached_calls_read_nothing),
                cmocka_unit_test(a_bridge_costs_the_start_its_class_and_its_group),
                cmocka_unit_test(member_bound_to_a_host_driver_makes_its_siblings_not_viable),
                cmocka_unit_test(announcements_name_only_what_changed),
                cmocka_unit_test(bridge_bound_to_another_driver_makes_its_group_not_viable),
                cmocka_unit_test(an_unreadable_members_event_still_reaches_its_group),
                cmocka_unit_test(removed_member_leaves_group_devices),
                cmocka_unit_test(a_storm_of_events_answers_the_bus_between_batches),
                cmocka_unit_test(grant_reads_a_member_whose_event_is_queued),
                cmocka_unit_test(managed_objects_say_what_get_all_says),
        };

        return cmocka_run_group_tests(tests, NULL, trees_teardown);
}
