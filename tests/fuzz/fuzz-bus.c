/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrud's D-Bus surface: the input is a sequence of method calls,
 * dispatched to the real Manager and Device vtables (manager_bus_publish)
 * of a daemon loaded from a fake sysfs, over a peer-to-peer bus whose
 * other end is this process.  Each call picks a member (every Manager
 * method, the Properties and ObjectManager and Introspectable ones, and
 * names that do not exist), an object (the Manager, a device's object, a
 * path that is none) and arguments: mostly the signature the member wants,
 * with addresses of real and unknown devices, VM names, options of every
 * type; sometimes the wrong signature.  The input's first byte picks the
 * caller, whom the daemon knows by the socket's credentials: root (the
 * root-only paths run), a member of the configured group, or a stranger.
 * Acquire stops at pinning (a peer-to-peer message names no sender), as it
 * must.
 *
 * Beyond not crashing or leaking, after the calls: every call got exactly
 * one answer, the worker finished its jobs, the state file passthrud wrote
 * (if any) loads back, and a caller who is not root changed nothing in it.
 */
#include "fake-sysfs.h"

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include <grp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "fuzz-util.h"
#include "macro.h"
#include "manager-dbus.h"
#include "manager.h"
#include "passthru-names.h"
#include "state.h"
#include "worker.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

static const char *const addresses[] = {
        "0000:01:00.0", "0000:02:00.0", "0000:02:00.1", "0000:03:00.0", "0000:00:1c.0",
        "01:00.0", "0000:09:00.0", "", "0000:01:00.0 ", "zzzz:01:00.0",
};

static const char *const members[] = {
        "ListDevices", "GetDevice", "Acquire", "Release", "SetPassthrough", "SetNumVFs", "Assign", "Unassign",
        "Reset", "EnterMaintenanceMode", "ExitMaintenanceMode",
        "Get", "GetAll", "Set", "GetManagedObjects", "Introspect", "NoSuchMethod",
};

static const char *const option_keys[] = {
        "Live", "Force", "MemoryBytes", "DeviceNodeOwner", "Bogus", "",
};

static char *root;
static ManagerPaths paths;
static unsigned answers;

#define SEED_STATE                                                                      \
        "[Device 0000:01:00.0]\nPassthrough=yes\n\n[Device 0000:02:00.0]\nPassthrough=yes\n\n" \
        "[Device 0000:02:00.1]\nPassthrough=yes\n"

/* Who calls: the credentials of the socket the daemon's end sees. */
typedef struct FuzzCaller {
        const char *name;
        uid_t uid;
        gid_t gid;
        size_t n_groups;
        gid_t groups[1];
} FuzzCaller;

static FuzzCaller callers[] = {
        { .name = "root" },
        { .name = "member", .uid = 65534, .gid = 65534, .n_groups = 1 }, /* groups[0]: "users", below */
        { .name = "stranger", .uid = 65534, .gid = 65534 },
};

typedef struct PairJob {
        const FuzzCaller *who;
        int fds[2];
        int r;
} PairJob;

/*
 * A socket pair carries the credentials of the task that made it
 * (SO_PEERCRED, SO_PEERGROUPS): a thread of its own takes the caller's
 * with raw system calls, which change that thread only (glibc's setuid()
 * would change every thread), makes the pair and ends.
 */
static void *pair_as(void *arg) {
        PairJob *j = arg;

        if (syscall(SYS_setgroups, j->who->n_groups, j->who->groups) < 0 ||
            syscall(SYS_setresgid, j->who->gid, j->who->gid, j->who->gid) < 0 ||
            syscall(SYS_setresuid, j->who->uid, j->who->uid, j->who->uid) < 0) {
                j->r = -errno;
                return NULL;
        }
        j->r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, j->fds) < 0 ? -errno : 0;
        return NULL;
}

static int socketpair_as(const FuzzCaller *who, int fds[2]) {
        PairJob j = { .who = who };
        pthread_t t;

        if (who->uid == 0)
                return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0 ? -errno : 0;
        if (pthread_create(&t, NULL, pair_as, &j) != 0 || pthread_join(t, NULL) != 0)
                return -EAGAIN;
        fds[0] = j.fds[0];
        fds[1] = j.fds[1];
        return j.r;
}

static int on_answer(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        (void) reply;
        (void) userdata;
        (void) ret_error;
        answers++;
        return 0;
}

/* A string: one of @list, or (top bit) up to 64 printable ASCII bytes of the input. */
static char *take_listed_or_ascii(Cursor *c, const char *const *list, size_t n) {
        unsigned b = take(c);
        char *s;

        if (!(b & 0x80) && n > 0)
                return strdup(list[b % n]);
        b &= 0x3f;
        s = calloc(b + 1, 1);
        for (unsigned i = 0; s && i < b; i++)
                s[i] = 0x20 + take(c) % 0x5f;
        return s;
}

static int append_options(sd_bus_message *m, Cursor *c) {
        unsigned n = take(c) % 4;
        int r = sd_bus_message_open_container(m, 'a', "{sv}");

        for (unsigned i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *key = take_listed_or_ascii(c, option_keys, ELEMENTSOF(option_keys));

                if (!key)
                        return -ENOMEM;
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r >= 0)
                        switch (take(c) % 5) {
                        case 0:
                                r = sd_bus_message_append(m, "v", "b", take(c) & 1);
                                break;
                        case 1:
                                r = sd_bus_message_append(m, "v", "t", (uint64_t) take(c) << (take(c) % 64));
                                break;
                        case 2:
                                r = sd_bus_message_append(m, "v", "u", (uint32_t) (take(c) | take(c) << 8));
                                break;
                        case 3:
                                r = sd_bus_message_append(m, "v", "s", "yes");
                                break;
                        default:
                                r = sd_bus_message_append(m, "v", "i", -1);
                                break;
                        }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* One call: an object, a member, arguments of its signature (or not). */
static int build_call(sd_bus *client, Cursor *c, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *address = NULL, *vm = NULL, *path = NULL;
        const char *member = members[take(c) % ELEMENTSOF(members)], *iface = PT_MANAGER_INTERFACE;
        unsigned where = take(c) % 4;
        bool wrong = take(c) % 16 == 0;
        int r;

        address = take_listed_or_ascii(c, addresses, ELEMENTSOF(addresses));
        vm = take_listed_or_ascii(c, (const char *const[]) { "web", "db", "a-b_c.d", "" }, 4);
        if (!address || !vm)
                return -ENOMEM;
        if (where == 1 && sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, "0000:01:00.0", &path) < 0)
                return -ENOMEM;
        if (!path && !(path = strdup(where == 2 ? "/org/passthru1/device/nope" : PT_MANAGER_PATH)))
                return -ENOMEM;

        if (streq(member, "Get") || streq(member, "GetAll") || streq(member, "Set"))
                iface = "org.freedesktop.DBus.Properties";
        else if (streq(member, "GetManagedObjects"))
                iface = "org.freedesktop.DBus.ObjectManager";
        else if (streq(member, "Introspect"))
                iface = "org.freedesktop.DBus.Introspectable";
        r = sd_bus_message_new_method_call(client, &m, PT_BUS_NAME, path, iface, member);
        if (r < 0)
                return r;

        if (wrong)      /* a signature the member does not take */
                r = sd_bus_message_append(m, "us", take(c), vm);
        else if (streq(member, "GetDevice") || streq(member, "Release") || streq(member, "Reset"))
                r = sd_bus_message_append(m, "s", address);
        else if (streq(member, "Acquire")) {
                r = sd_bus_message_append(m, "ss", address, vm);
                if (r >= 0)
                        r = append_options(m, c);
        } else if (streq(member, "SetPassthrough")) {
                r = sd_bus_message_append(m, "sb", address, take(c) & 1);
                if (r >= 0)
                        r = append_options(m, c);
        } else if (streq(member, "SetNumVFs"))
                r = sd_bus_message_append(m, "su", address, take(c) % 4 == 0 ? take(c) : take(c) % 9);
        else if (streq(member, "Assign") || streq(member, "Unassign"))
                r = sd_bus_message_append(m, "ss", address, vm);
        else if (streq(member, "Get") || streq(member, "Set")) {
                r = sd_bus_message_append(m, "ss", where == 1 ? PT_DEVICE_INTERFACE : PT_MANAGER_INTERFACE,
                                          take(c) & 1 ? "MaintenanceMode" : "State");
                if (r >= 0 && streq(member, "Set"))
                        r = sd_bus_message_append(m, "v", "b", true);
        } else if (streq(member, "GetAll"))
                r = sd_bus_message_append(m, "s", where == 1 ? PT_DEVICE_INTERFACE : PT_MANAGER_INTERFACE);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Both ends and the loop, until nothing moves and the worker is idle. */
static void pump(sd_bus *client, Manager *m) {
        for (unsigned idle = 0, rounds = 0; idle < 3 && rounds < 100000; rounds++) {
                int a = sd_bus_process(client, NULL), b = sd_event_run(m->event, 0);

                if (a < 0 || b < 0)
                        fuzz_fail("the bus or the loop failed: %d, %d", a, b);
                if (a == 0 && b == 0 && worker_pending(m->worker) == 0)
                        idle++;
                else
                        idle = 0;
                if (a == 0 && b == 0 && worker_pending(m->worker) > 0)
                        usleep(100);
        }
        fuzz_assert(worker_pending(m->worker) == 0, "the worker did not finish its jobs");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        root = fake_sysfs_new();
        fake_mkdir_p(root, "dev/vfio");
        fake_mkdir_p(root, "etc/modprobe.d");
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.0", .driver = "passthru", .iommu_group = 1 });
        fake_pci_add(root, &(FakePci) {
                .address = "0000:00:1c.0", .vendor = 0x8086, .device = 0x7abc, .class = 0x060400,
                .driver = "pcieport", .iommu_group = 2, .pcie = true,
        });
        fake_pci_add(root, &(FakePci) { .address = "0000:02:00.0", .driver = "passthru", .iommu_group = 2 });
        fake_pci_add(root, &(FakePci) { .address = "0000:02:00.1", .driver = "passthru", .iommu_group = 2 });
        fake_pci_add(root, &(FakePci) {
                .address = "0000:03:00.0", .vendor = 0x8086, .device = 0x10d3, .class = 0x020000,
                .driver = "e1000e", .iommu_group = 3,
        });
        /* An SR-IOV PF (SetNumVFs) without VFs: passthru.ko is not there to hide them. */
        fake_write(root, "devices/pci0000:00/0000:03:00.0/sriov_totalvfs", "7\n");
        fake_write(root, "devices/pci0000:00/0000:03:00.0/sriov_numvfs", "0\n");
        /* The group of the "member" caller: one every Debian system has. */
        struct group *users = getgrnam("users");
        callers[1].groups[0] = users ? users->gr_gid : 100;
        fake_mkdir_p(root, "etc/passthru");
        fake_write(root, "etc/passthru/passthru.conf", "[Daemon]\nGroup=users\n");
        /* Other credentials need root; otherwise every caller is this process's user. */
        if (geteuid() != 0)
                for (size_t i = 0; i < ELEMENTSOF(callers); i++)
                        callers[i] = (FuzzCaller) { .name = callers[i].name, .uid = geteuid(), .gid = getegid() };
        paths = (ManagerPaths) {
                .sysfs = root,
                .proc = fake_path(root, "proc"),
                .dev = fake_path(root, "dev"),
                .config_file = fake_path(root, "etc/passthru/passthru.conf"),
                .modprobe_file = fake_path(root, "etc/modprobe.d/passthru.conf"),
                .state_dir = fake_path(root, "var/lib/passthru"),
                .runtime_dir = fake_path(root, "run/passthru"),
        };
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *client = NULL, *server = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        Cursor c = { data, size };
        PersistentState back;
        char *error = NULL;
        Manager *m = NULL;
        sd_id128_t id;
        int fds[2], r;

        /* A fresh daemon on the same tree: the state it wrote last time goes. */
        fake_mkdir_p(root, "var/lib/passthru");
        fake_mkdir_p(root, "run/passthru");
        fake_write(root, "var/lib/passthru/" STATE_FILE_NAME, SEED_STATE);
        fake_unlink(root, "etc/modprobe.d/passthru.conf");
        const FuzzCaller *who = &callers[take(&c) % ELEMENTSOF(callers)];

        if (sd_event_new(&event) < 0 || manager_new(&paths, &m) < 0 || manager_load(m) < 0)
                fuzz_fail("cannot load the manager");
        m->event = sd_event_ref(event);
        if (worker_new(event, &m->worker) < 0)
                fuzz_fail("cannot start the worker");
        /* Anonymous authentication: the client's own uid (root's) would not match the socket's. */
        r = socketpair_as(who, fds);
        if (r < 0)
                fuzz_fail("cannot make a socket pair as %s: %s", who->name, strerror(-r));
        if (sd_id128_randomize(&id) < 0 || sd_bus_new(&server) < 0 || sd_bus_set_fd(server, fds[0], fds[0]) < 0 ||
            sd_bus_set_server(server, 1, id) < 0 || sd_bus_set_anonymous(server, 1) < 0 ||
            sd_bus_start(server) < 0 || sd_bus_new(&client) < 0 || sd_bus_set_fd(client, fds[1], fds[1]) < 0 ||
            sd_bus_set_anonymous(client, 1) < 0 || sd_bus_start(client) < 0)
                fuzz_fail("cannot set up the peer-to-peer bus");
        if (manager_bus_publish(m, server) < 0)
                fuzz_fail("cannot publish the objects");

        answers = 0;
        unsigned sent = 0;

        for (unsigned calls = 0; c.left > 0 && calls < 24; calls++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;

                r = build_call(client, &c, &call);
                if (r == -ENOMEM)
                        abort();
                if (r < 0)
                        continue;       /* an argument sd-bus refuses to send: not ours to parse */
                r = sd_bus_call_async(client, NULL, call, on_answer, NULL, 0);
                fuzz_assert(r >= 0, "cannot send a call: %d", r);
                sent++;
                pump(client, m);
                fuzz_assert(answers == sent, "%u calls sent, %u answered", sent, answers);
        }

        r = state_load(paths.state_dir, &back, &error);
        fuzz_assert(r >= 0, "passthrud left a state file it cannot read: %s", error ?: "?");
        state_done(&back);
        free(error);
        if (who->uid != 0) {
                _cleanup_free_ char *now = fake_read(root, "var/lib/passthru/" STATE_FILE_NAME);

                fuzz_assert(now && streq(now, SEED_STATE), "a caller who is not root (%s) changed the state: %s",
                            who->name, now ?: "(gone)");
        }

        /* The manager's bus is server; manager_free() closes it. */
        server = sd_bus_unref(server);
        manager_free(m);
        return 0;
}
