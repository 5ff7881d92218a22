/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lease_check(): the rules of Acquire, each alone and in DESIGN.md's order
 * (when two are broken at once, the earlier one answers), against a fake
 * sysfs; and manager_lookup_device().  No bus, no event loop: the manager
 * is only created and loaded.
 *
 * The tree, unless a test changes it before fx_load():
 *
 *   0000:01:00.0  group 1  passthru  marked        the usual target
 *   0000:00:1c.0  group 2  pcieport  (bridge, not tracked, not an endpoint)
 *   0000:02:00.0  group 2  passthru  marked
 *   0000:02:00.1  group 2  passthru  marked
 *   0000:03:00.0  group 3  e1000e    not marked    a host NIC
 *
 * with an IOMMU (class/iommu/dmar0), interrupt remapping (IR- in
 * /proc/interrupts) and allow_unsafe_interrupts=N.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <dirent.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "fake-manager.h"
#include "fake-sysfs.h"

#include <systemd/sd-bus.h>

#include "config.h"
#include "device.h"
#include "fileio.h"
#include "lease.h"
#include "manager.h"
#include "passthru-names.h"
#include "process.h"
#include "state.h"
#include "strv.h"
#include "stage.h"
#include "sysfs.h"

#define D1  "0000:01:00.0"
#define BR  "0000:00:1c.0"
#define D2A "0000:02:00.0"
#define D2B "0000:02:00.1"
#define D3  "0000:03:00.0"

#define MARKED_STATE                    \
        "[Device " D1 "]\n"             \
        "Passthrough=yes\n"             \
        "\n"                            \
        "[Device " D2A "]\n"            \
        "Passthrough=yes\n"             \
        "\n"                            \
        "[Device " D2B "]\n"            \
        "Passthrough=yes\n"

typedef struct Fx {
        char *root;
        FakeManagerPaths paths;
        Manager *m;
        sd_bus_error error;
} Fx;

static int fx_setup(void **state) {
        Fx *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        fx->root = fake_sysfs_new();
        fake_manager_paths(fx->root, &fx->paths);
        fx->error = SD_BUS_ERROR_NULL;

        fake_pci_add(fx->root, &(FakePci) { .address = D1, .driver = "passthru", .iommu_group = 1 });
        fake_pci_add(fx->root, &(FakePci) {
                .address = BR, .vendor = 0x8086, .device = 0x7abc, .class = 0x060400,
                .driver = "pcieport", .iommu_group = 2, .pcie = true,
        });
        fake_pci_add(fx->root, &(FakePci) { .address = D2A, .driver = "passthru", .iommu_group = 2 });
        fake_pci_add(fx->root, &(FakePci) { .address = D2B, .driver = "passthru", .iommu_group = 2 });
        fake_pci_add(fx->root, &(FakePci) {
                .address = D3, .vendor = 0x8086, .device = 0x10d3, .class = 0x020000,
                .driver = "e1000e", .iommu_group = 3,
        });

        *state = fx;
        return 0;
}

/* Thread creation fails as at a full TasksMax (the wrapper below); teardown turns it off. */
static bool threads_refused;

static int fx_teardown(void **state) {
        Fx *fx = *state;

        threads_refused = false;
        /* Frees the leases that fx_lease() put in m->leases, too. */
        manager_free(fx->m);
        sd_bus_error_free(&fx->error);
        fake_manager_paths_free(&fx->paths);
        fake_sysfs_free(fx->root);
        free(fx);
        return 0;
}

/* Write the state file (NULL: none), then create and load the manager. */
static void fx_load(Fx *fx, const char *state_text) {
        if (state_text)
                fake_write(fx->root, "var/lib/passthru/" STATE_FILE_NAME, state_text);
        assert_int_equal(manager_new(&fx->paths.paths, &fx->m), 0);
        assert_int_equal(manager_load(fx->m), 0);
}

/* fx_load(), and a loop for the manager's jobs and timers (the caller's to unref). */
static sd_event *fx_load_looping(Fx *fx, const char *state_text) {
        sd_event *event = NULL;

        fx_load(fx, state_text);
        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(manager_attach_event(fx->m, event), 0);
        return event;
}

static Device *fx_device(Fx *fx, const char *address) {
        Device *d = manager_find_device(fx->m, address);

        assert_non_null(d);
        return d;
}

/*
 * A lease of @devices (NULL-terminated) to @vm by @pid, as lease_acquire()
 * leaves it: in m->leases (which the limits count) and on each device's
 * ->lease (which the busy check reads).  manager_free() frees it.
 */
static Lease *fx_lease(Fx *fx, int group, const char *vm, pid_t pid, const char *const *devices) {
        Manager *m = fx->m;
        Lease **a, *l;

        l = calloc(1, sizeof(*l));
        assert_non_null(l);
        l->manager = m;
        l->group = group;
        l->pid = pid;
        l->pidfd = -EBADF;
        l->node_owner = (uid_t) -1;
        l->state = LEASE_ACTIVE;
        l->vm = strdup(vm);
        l->device = strdup(devices[0]);
        assert_non_null(l->vm);
        assert_non_null(l->device);
        l->devices = calloc(1, sizeof(char *));
        assert_non_null(l->devices);
        for (const char *const *i = devices; *i; i++)
                assert_int_equal(strv_extend(&l->devices, *i), 0);

        a = reallocarray(m->leases, m->n_leases + 1, sizeof(Lease *));
        assert_non_null(a);
        m->leases = a;
        m->leases[m->n_leases++] = l;
        for (const char *const *i = devices; *i; i++)
                fx_device(fx, *i)->lease = l;
        return l;
}

/* lease_check() on @address for @vm: its return value; the error in fx->error. */
static int fx_check(Fx *fx, const char *address, const char *vm) {
        sd_bus_error_free(&fx->error);
        return lease_check(fx->m, fx_device(fx, address), vm, 0, NULL, &fx->error);
}

/* Refused with @name, and the message names each of the NULL-terminated words. */
static void assert_refused(Fx *fx, int r, const char *name, ...) {
        va_list ap;

        assert_true(r < 0);
        assert_true(sd_bus_error_is_set(&fx->error));
        assert_string_equal(fx->error.name, name);
        assert_non_null(fx->error.message);
        va_start(ap, name);
        for (const char *w; (w = va_arg(ap, const char *));)
                if (!strstr(fx->error.message, w))
                        fail_msg("'%s' is not in the message: %s", w, fx->error.message);
        va_end(ap);
}

static void fx_iommu_off(Fx *fx) {
        char *p = fake_path(fx->root, "class/iommu/dmar0");

        assert_int_equal(rmdir(p), 0);
        free(p);
}

static void fx_unsafe_interrupts(Fx *fx) {
        fake_write(fx->root, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
}

static void fx_no_interrupt_remapping(Fx *fx) {
        fake_write(fx->root, "proc/interrupts",
                   "            CPU0       CPU1       \n"
                   "   0:         35          0   IO-APIC    2-edge      timer\n"
                   "  24:          0        120  PCI-MSI 1048576-edge      enp1s0\n"
                   "NMI:          0          0   Non-maskable interrupts\n");
}

/* Passing */

static void check_passes_for_marked_device_on_stub(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_AVAILABLE);
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
}

static void check_passes_for_group_with_bridge_on_pcieport(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        assert_null(manager_find_device(fx->m, BR));    /* bridges are not tracked */
        assert_int_equal(fx_check(fx, D2B, "vm-a"), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
}

/* 1. Marked and claimed */

static void unmarked_device_is_not_passthrough(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D3, "vm-a"), PT_ERROR_NOT_PASSTHROUGH, D3, NULL);
}

static void unmarked_device_on_stub_is_not_passthrough(void **state) {
        Fx *fx = *state;

        /* On passthru (say, by a boot rule) but not in the state: not marked. */
        fx_load(fx, NULL);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_NOT_PASSTHROUGH, D1, NULL);
}

static void marked_device_on_host_driver_is_not_passthrough(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE "\n[Device " D3 "]\nPassthrough=yes\n");
        assert_int_equal(device_state(fx_device(fx, D3)), DEVICE_PENDING_REBOOT);
        assert_refused(fx, fx_check(fx, D3, "vm-a"), PT_ERROR_NOT_PASSTHROUGH, D3, "e1000e", NULL);
}

static void device_with_mismatched_ids_is_not_passthrough(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx_device(fx, D1)->module_state = PASSTHRU_STATE_MISMATCH;
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_NOT_PASSTHROUGH, D1, NULL);
}

static void quarantined_device_is_quarantined(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx_device(fx, D1)->quarantined = true;
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_QUARANTINED, D1, NULL);
}

/* 2. IOMMU and interrupt remapping */

static void no_iommu_is_iommu_unavailable(void **state) {
        Fx *fx = *state;

        fx_iommu_off(fx);
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE, NULL);
}

static void device_without_iommu_group_is_iommu_unavailable(void **state) {
        Fx *fx = *state;

        fake_pci_add(fx->root, &(FakePci) { .address = "0000:04:00.0", .driver = "passthru" });
        fx_load(fx, MARKED_STATE "\n[Device 0000:04:00.0]\nPassthrough=yes\n");
        assert_int_equal(fx_device(fx, "0000:04:00.0")->sys.iommu_group, -1);
        assert_refused(fx, fx_check(fx, "0000:04:00.0", "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE, NULL);
}

static void unsafe_interrupts_are_iommu_unavailable(void **state) {
        Fx *fx = *state;

        fx_unsafe_interrupts(fx);
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE,
                       "allow_unsafe_interrupts", NULL);
}

/* The parameter's file stays open between grants, yet each reads it now. */
static void unsafe_interrupts_set_after_a_grant_check_refuses_the_next(void **state) {
        const char *param = "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts";
        Fx *fx = *state;

        fake_write(fx->root, param, "N\n");
        fx_load(fx, MARKED_STATE);
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
        assert_true(fx->m->unsafe_interrupts_fd >= 0);
        /* Root sets it in place, as sysfs does. */
        fake_write(fx->root, param, "Y\n");
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE, "allow_unsafe_interrupts", NULL);
        fake_write(fx->root, param, "N\n");
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
}

static void no_interrupt_remapping_is_iommu_unavailable(void **state) {
        Fx *fx = *state;

        fx_no_interrupt_remapping(fx);
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE, "remapping", NULL);
}

static void allow_unsafe_interrupts_accepts_both_interrupt_risks(void **state) {
        Fx *fx = *state;

        fx_unsafe_interrupts(fx);
        fx_no_interrupt_remapping(fx);
        fx_load(fx, MARKED_STATE);
        fx->m->config.allow_unsafe_interrupts = true;
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
}

static void allow_unsafe_interrupts_does_not_accept_iommu_off(void **state) {
        Fx *fx = *state;

        fx_iommu_off(fx);
        fx_load(fx, MARKED_STATE);
        fx->m->config.allow_unsafe_interrupts = true;
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE, NULL);
}

/* 3. Maintenance mode */

static void maintenance_mode_is_refused(void **state) {
        Fx *fx = *state;

        fx_load(fx, "[Manager]\nMaintenanceMode=yes\n\n" MARKED_STATE);
        assert_true(fx->m->state.maintenance);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_MAINTENANCE_MODE, NULL);
}

/* 4. Assignments */

static void vm_not_among_assignments_is_not_assigned(void **state) {
        Fx *fx = *state;

        fx_load(fx, "[Device " D1 "]\nPassthrough=yes\nAssignments=vm-a vm-b\n");
        assert_refused(fx, fx_check(fx, D1, "vm-c"), PT_ERROR_NOT_ASSIGNED, D1, "vm-c", NULL);
}

static void vm_among_assignments_passes(void **state) {
        Fx *fx = *state;

        fx_load(fx, "[Device " D1 "]\nPassthrough=yes\nAssignments=vm-a\nAssignments=vm-b\n");
        assert_int_equal(fx_check(fx, D1, "vm-b"), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
}

static void no_assignments_admit_any_vm(void **state) {
        Fx *fx = *state;
        StateDevice *s;

        fx_load(fx, MARKED_STATE);
        /* Present in the state, but with an empty list: still any VM. */
        assert_int_equal(state_ensure_device(&fx->m->state, D1, &s), 0);
        assert_null(s->assignments);
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
        assert_int_equal(fx_check(fx, D1, "some-other-vm"), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
}

/* 5. Limits */

static void max_devices_per_vm_counts_group_endpoints_not_bridges(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        /* Group 2: two endpoints and a bridge. */
        fx->m->config.max_devices_per_vm = 1;
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_LIMIT_EXCEEDED, "vm-a", "MaxDevicesPerVm", NULL);
        fx->m->config.max_devices_per_vm = 2;
        assert_int_equal(fx_check(fx, D2A, "vm-a"), 0);
}

static void max_devices_per_vm_counts_devices_already_leased_by_that_vm(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx->m->config.max_devices_per_vm = 2;
        fx_lease(fx, 1, "vm-a", 4242, (const char *const[]) { D1, NULL });
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_LIMIT_EXCEEDED, "vm-a", "MaxDevicesPerVm", NULL);
        /* Another VM's lease does not count against vm-b. */
        assert_int_equal(fx_check(fx, D2A, "vm-b"), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
}

static void max_active_devices_counts_every_vms_leases(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx->m->config.max_active_devices = 2;
        fx_lease(fx, 1, "vm-b", 4242, (const char *const[]) { D1, NULL });
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_LIMIT_EXCEEDED, "MaxActiveDevices", NULL);
        fx->m->config.max_active_devices = 3;
        assert_int_equal(fx_check(fx, D2A, "vm-a"), 0);
}

/* 6. Group viability */

static void member_on_host_driver_is_group_not_viable_naming_it(void **state) {
        Fx *fx = *state;

        fake_bind(fx->root, D2B, "snd_hda_intel");
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_GROUP_NOT_VIABLE, D2B, "snd_hda_intel", NULL);
}

/* Two members on host drivers: the first is named, with its driver. */
static void group_not_viable_names_the_first_culprit_and_its_driver(void **state) {
        Fx *fx = *state;

        fake_pci_add(fx->root, &(FakePci) { .address = "0000:02:00.2", .driver = "xhci_hcd", .iommu_group = 2 });
        fake_bind(fx->root, D2B, "snd_hda_intel");
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_GROUP_NOT_VIABLE, D2B, "snd_hda_intel", NULL);
        assert_null(strstr(fx->error.message, "xhci_hcd"));
}

/*
 * The group's members come from the cache the bus reads, but a grant reads
 * their drivers now: a host driver bound since the cache was filled, its
 * event not yet in, still refuses the group.
 */
static void member_bound_to_a_host_driver_without_an_event_is_seen(void **state) {
        Fx *fx = *state;
        const Group *g;

        fx_load(fx, MARKED_STATE);
        g = manager_group(fx->m, 2);
        assert_non_null(g);
        assert_true(g->viable);
        assert_int_equal(strv_length(g->members), 3);           /* the bridge too */
        assert_int_equal(strv_length(g->endpoints), 2);
        assert_int_equal(fx_check(fx, D2A, "vm-a"), 0);
        fake_bind(fx->root, D2B, "snd_hda_intel");
        assert_true(manager_group(fx->m, 2)->viable);           /* the cache has not heard */
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_GROUP_NOT_VIABLE, D2B, "snd_hda_intel", NULL);
}

/* 7. Busy */

static void leased_member_is_device_busy_naming_vm_and_pid(void **state) {
        Fx *fx = *state;

        fake_bind(fx->root, D2B, "vfio-pci");
        fx_load(fx, MARKED_STATE);
        fx_lease(fx, 2, "vm-x", 4242, (const char *const[]) { D2B, NULL });
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_DEVICE_BUSY, "vm-x", "4242", NULL);
        /* The same answer for the device that is itself leased. */
        assert_refused(fx, fx_check(fx, D2B, "vm-a"), PT_ERROR_DEVICE_BUSY, "vm-x", "4242", NULL);
}

/*
 * A queued event is read by the first caller only, and a leased device's
 * not at all: a return job holds its lock through the reset, and refused
 * callers that read it (driver_override did) waited that long.
 */
static void queued_device_is_read_once_and_a_leased_one_never(void **state) {
        Fx *fx = *state;
        unsigned long before;
        Device *d;

        fx_load(fx, MARKED_STATE);
        d = fx_device(fx, D1);
        manager_refresh_later(fx->m, D1);
        assert_true(d->refresh_queued);
        before = sysfs_reads();
        assert_int_equal(manager_refresh_queued(fx->m, d), 0);
        assert_true(sysfs_reads() > before);
        assert_false(d->refresh_queued);
        before = sysfs_reads();
        assert_int_equal(manager_refresh_queued(fx->m, d), 0);
        assert_int_equal(sysfs_reads(), before);

        fake_bind(fx->root, D1, "vfio-pci");
        fx_lease(fx, 1, "vm-x", 4242, (const char *const[]) { D1, NULL });
        manager_refresh_later(fx->m, D1);
        assert_true(d->refresh_queued);
        before = sysfs_reads();
        assert_int_equal(manager_refresh_queued(fx->m, d), 0);
        assert_int_equal(sysfs_reads(), before);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_DEVICE_BUSY, "vm-x", "4242", NULL);
}

/*
 * A refused caller of a leased group costs no read of sysfs: a member under
 * a lease is on vfio-pci or on its way back under driver_override, never a
 * host driver's.  A member that is not under the lease is still read live.
 */
static void leased_group_is_refused_without_reading_its_members(void **state) {
        Fx *fx = *state;
        unsigned long before;

        fx_load(fx, MARKED_STATE);
        assert_int_equal(fx_check(fx, D2A, "vm-a"), 0);        /* group 2's cache filled */
        fake_bind(fx->root, D2A, "vfio-pci");
        fake_bind(fx->root, D2B, "vfio-pci");
        fx_lease(fx, 2, "vm-x", 4242, (const char *const[]) { D2A, D2B, NULL });
        before = sysfs_reads();
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_DEVICE_BUSY, "vm-x", "4242", NULL);
        assert_refused(fx, fx_check(fx, D2B, "vm-a"), PT_ERROR_DEVICE_BUSY, "vm-x", "4242", NULL);
        /* Only the group's bridge, once a check: it is under no lease. */
        assert_int_equal(sysfs_reads() - before, 2);

        /* Off its lease, D2B is read again: now on a host driver, it is named. */
        fx_device(fx, D2B)->lease = NULL;
        fake_bind(fx->root, D2B, "snd_hda_intel");
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_GROUP_NOT_VIABLE, D2B, "snd_hda_intel", NULL);
        fx_device(fx, D2B)->lease = fx_device(fx, D2A)->lease;  /* as it was, for the teardown */
}

/* Rule 1: a device on its way back is refused before the host's rules (here, maintenance mode). */
static void releasing_device_is_device_busy_before_maintenance_mode(void **state) {
        Fx *fx = *state;
        Lease *l;

        fake_bind(fx->root, D1, "vfio-pci");
        fx_load(fx, "[Manager]\nMaintenanceMode=yes\n\n" MARKED_STATE);
        l = fx_lease(fx, 1, "vm-x", 4242, (const char *const[]) { D1, NULL });
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_MAINTENANCE_MODE, NULL);
        l->state = LEASE_RELEASING;
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_RELEASING);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_DEVICE_BUSY, "releasing", "vm-x", NULL);
}

static void quarantined_member_refuses_the_group_naming_it(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx_device(fx, D2B)->quarantined = true;
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_QUARANTINED, D2B, "quarantined", NULL);
}

static void member_on_vfio_without_a_lease_is_device_busy_naming_it(void **state) {
        Fx *fx = *state;

        fake_bind(fx->root, D2B, "vfio-pci");
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_DEVICE_BUSY, D2B, "without a lease", NULL);
}

/*
 * A caller's long string is quoted cut (64 bytes at most), and never
 * inside a UTF-8 character: the answer's message must stay a D-Bus string.
 */
static void a_long_bad_address_is_quoted_cut_whole(void **state) {
        Fx *fx = *state;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char arg[5000];
        Device *d = NULL;
        const char *q;

        fx_load(fx, MARKED_STATE);
        memset(arg, 'a', 63);
        for (size_t i = 63; i + 2 < sizeof(arg); i += 2)
                memcpy(arg + i, "\xc3\xa4", 2);     /* a two-byte character across byte 64 */
        arg[sizeof(arg) - 1] = '\0';
        assert_true(manager_lookup_device(fx->m, arg, &d, &error) < 0);
        assert_string_equal(error.name, SD_BUS_ERROR_INVALID_ARGS);
        q = strchr(error.message + 1, '\'');
        assert_non_null(q);
        assert_int_equal(q - (error.message + 1), 63);          /* 63 a's; the ä that would end at 65 is left out */
        assert_non_null(strstr(error.message, "' (cut) is not a PCI address"));
}

/* Another tool (libvirt's managed='yes', driverctl) moved it to vfio-pci: foreign, leased to nobody. */
static void device_moved_to_vfio_behind_the_daemons_back_is_foreign(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fake_bind(fx->root, D1, "vfio-pci");
        manager_refresh_device(fx->m, D1);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_FOREIGN);
        assert_string_equal(device_state_to_string(DEVICE_FOREIGN), "foreign");
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_DEVICE_BUSY, D1, "another tool", NULL);
}

/*
 * The same move, checked before its udev event is handled (a few ms, more
 * in an event storm): the grant's own read of the driver sees vfio-pci
 * where passthrud left passthru, and refuses as for a foreign device,
 * whether it is the device asked for or another member of its group.
 */
static void a_move_to_vfio_whose_event_is_not_handled_yet_is_refused(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fake_bind(fx->root, D1, "vfio-pci");
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_AVAILABLE);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_DEVICE_BUSY, D1, "another tool", NULL);
        fake_bind(fx->root, D2B, "vfio-pci");
        assert_int_equal(device_state(fx_device(fx, D2B)), DEVICE_AVAILABLE);
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_DEVICE_BUSY, D2B, "another tool", NULL);
}

/* Back on passthru from that tool's VM, without a reset the daemon trusts: quarantined. */
static void foreign_device_back_on_passthru_is_quarantined(void **state) {
        Fx *fx = *state;
        char *path, *text = NULL;

        fx_load(fx, MARKED_STATE);
        fake_bind(fx->root, D1, "vfio-pci");
        manager_refresh_device(fx->m, D1);
        fake_bind(fx->root, D1, NULL);
        manager_refresh_device(fx->m, D1);
        assert_int_not_equal(device_state(fx_device(fx, D1)), DEVICE_AVAILABLE);
        fake_bind(fx->root, D1, "passthru");
        manager_refresh_device(fx->m, D1);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_QUARANTINED, D1, NULL);
        /* On disk: a restart of the daemon keeps it. */
        path = fake_path(fx->root, "run/passthru/quarantine");
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_non_null(strstr(text, D1));
        free(text);
        free(path);
}

static void device_or_member_being_reset_is_device_busy(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx_device(fx, D2B)->resetting = true;
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_DEVICE_BUSY, D2B, "resetting", NULL);
        assert_refused(fx, fx_check(fx, D2B, "vm-a"), PT_ERROR_DEVICE_BUSY, D2B, "being reset", NULL);
}

/* SetPassthrough's request to passthru.ko may still be claiming or releasing the device. */
static void device_being_marked_is_device_busy(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx_device(fx, D1)->configuring = true;
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_DEVICE_BUSY, D1, "being marked or unmarked", NULL);
        fx_device(fx, D1)->configuring = false;
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
}

/* A VF whose PF's VF count is being changed may be removed under its grant. */
static void vf_of_a_pf_changing_its_vf_count_is_device_busy(void **state) {
        Fx *fx = *state;
        Device *vf, *pf;

        fx_load(fx, MARKED_STATE);
        vf = fx_device(fx, D1);
        pf = fx_device(fx, D2A);
        memcpy(vf->sys.physfn, pf->address, sizeof(vf->sys.physfn));
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);  /* a VF like any other while nothing changes */
        pf->sriov_busy = true;
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_DEVICE_BUSY, D1, D2A, "VF count", NULL);
        pf->sriov_busy = false;
        assert_int_equal(fx_check(fx, D1, "vm-a"), 0);
}

/* The order: when two rules are broken, the earlier one answers. */

static void not_passthrough_wins_over_iommu_off(void **state) {
        Fx *fx = *state;

        fx_iommu_off(fx);
        fx_load(fx, MARKED_STATE);
        assert_refused(fx, fx_check(fx, D3, "vm-a"), PT_ERROR_NOT_PASSTHROUGH, NULL);
}

static void quarantined_wins_over_iommu_off(void **state) {
        Fx *fx = *state;

        fx_iommu_off(fx);
        fx_load(fx, MARKED_STATE);
        fx_device(fx, D1)->quarantined = true;
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_QUARANTINED, NULL);
}

static void iommu_unavailable_wins_over_maintenance_mode(void **state) {
        Fx *fx = *state;

        fx_no_interrupt_remapping(fx);
        fx_load(fx, "[Manager]\nMaintenanceMode=yes\n\n" MARKED_STATE);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_IOMMU_UNAVAILABLE, NULL);
}

static void maintenance_mode_wins_over_not_assigned(void **state) {
        Fx *fx = *state;

        fx_load(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " D1 "]\nPassthrough=yes\nAssignments=vm-a\n");
        assert_refused(fx, fx_check(fx, D1, "vm-b"), PT_ERROR_MAINTENANCE_MODE, NULL);
}

static void not_assigned_wins_over_limit_exceeded(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE "Assignments=vm-a\n");        /* on D2B */
        fx->m->config.max_devices_per_vm = 1;
        fx->m->config.max_active_devices = 1;
        assert_refused(fx, fx_check(fx, D2B, "vm-b"), PT_ERROR_NOT_ASSIGNED, NULL);
}

static void limit_exceeded_wins_over_group_not_viable(void **state) {
        Fx *fx = *state;

        fake_bind(fx->root, D2B, "snd_hda_intel");
        fx_load(fx, MARKED_STATE);
        fx->m->config.max_devices_per_vm = 1;
        assert_refused(fx, fx_check(fx, D2A, "vm-a"), PT_ERROR_LIMIT_EXCEEDED, NULL);
}

/* MemoryBytes above MaxMemoryBytes= is a limit (rule 5): after rules 1-4, before 6. */
static void memory_above_the_cap_is_a_limit_in_its_place(void **state) {
        Fx *fx = *state;

        fake_bind(fx->root, D2B, "snd_hda_intel");
        fx_load(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " D1 "]\nPassthrough=yes\nAssignments=vm-a\n\n"
                    "[Device " D2A "]\nPassthrough=yes\n");
        fx->m->config.max_memory_bytes = 1 << 20;
        sd_bus_error_free(&fx->error);
        assert_refused(fx, lease_check(fx->m, fx_device(fx, D1), "vm-a", 2 << 20, NULL, &fx->error),
                       PT_ERROR_MAINTENANCE_MODE, NULL);
        fx->m->state.maintenance = false;
        sd_bus_error_free(&fx->error);
        assert_refused(fx, lease_check(fx->m, fx_device(fx, D1), "vm-b", 2 << 20, NULL, &fx->error),
                       PT_ERROR_NOT_ASSIGNED, NULL);
        sd_bus_error_free(&fx->error);
        assert_refused(fx, lease_check(fx->m, fx_device(fx, D2A), "vm-a", 2 << 20, NULL, &fx->error),
                       PT_ERROR_LIMIT_EXCEEDED, "MemoryBytes=2097152", "cap of 1048576", "MaxMemoryBytes=", NULL);
        /* Within the cap, the next rule speaks: the group is not viable. */
        sd_bus_error_free(&fx->error);
        assert_refused(fx, lease_check(fx->m, fx_device(fx, D2A), "vm-a", 1 << 20, NULL, &fx->error),
                       PT_ERROR_GROUP_NOT_VIABLE, NULL);
        sd_bus_error_free(&fx->error);
        assert_int_equal(lease_check(fx->m, fx_device(fx, D1), "vm-a", 1 << 20, NULL, &fx->error), 0);
}

/* RLIMIT_MEMLOCK (soft, hard) of @pid. */
static void memlock_of(pid_t pid, rlim_t *cur, rlim_t *max) {
        struct rlimit r;

        assert_int_equal(prlimit(pid, RLIMIT_MEMLOCK, NULL, &r), 0);
        *cur = r.rlim_cur;
        *max = r.rlim_max;
}

#define assert_memlock(pid, c, m) do {                  \
                rlim_t cur_, max_;                      \
                memlock_of((pid), &cur_, &max_);        \
                assert_int_equal(cur_, (c));            \
                assert_int_equal(max_, (m));            \
        } while (0)

/*
 * One holder, two leases with MemoryBytes: its own limit comes back when the
 * last one ends, and until then it keeps what the largest live one asked
 * for, whichever ends first.  A lease of another process is not counted.
 */
static void memlock_is_the_holders_across_its_leases(void **state) {
        Fx *fx = *state;
        /* Soft limits under the hard one it has: no CAP_SYS_RESOURCE needed (this host's root lacks it). */
        struct rlimit own = { 65536, 0 };
        rlim_t hard, small, large;
        uint64_t start;
        Lease *a, *b, *other;
        pid_t child;
        int pidfd;

        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                /* Gone with the test, even one that fails half-way (it would hold run.sh's pipe). */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                pause();
                _exit(0);
        }
        assert_int_equal(prlimit(child, RLIMIT_MEMLOCK, NULL, &own), 0);
        hard = own.rlim_max;
        large = hard == RLIM_INFINITY ? 8 << 20 : hard;
        small = large / 2;
        assert_true(small > 65536);
        own.rlim_cur = 65536;
        assert_int_equal(prlimit(child, RLIMIT_MEMLOCK, &own, NULL), 0);
        assert_int_equal(proc_start_time(child, &start), 0);
        fx_load(fx, MARKED_STATE);
        for (int order = 0; order < 2; order++) {
                a = fx_lease(fx, 1, "vm-a", child, (const char *const[]) { D1, NULL });
                b = fx_lease(fx, 2, "vm-a", child, (const char *const[]) { D2A, NULL });
                other = fx_lease(fx, 3, "vm-b", child, (const char *const[]) { D3, NULL });
                a->start_time = b->start_time = start;
                other->start_time = start + 1;  /* the same pid, another process */
                pidfd = pidfd_open(child);
                assert_true(pidfd >= 0);
                a->pidfd = pidfd;
                b->pidfd = dup(pidfd);
                other->pidfd = dup(pidfd);
                lease_raise_memlock(a, small);
                assert_memlock(child, small, hard);
                lease_raise_memlock(b, large);
                assert_memlock(child, large, hard);
                lease_raise_memlock(other, 1 << 20);    /* below: nothing to raise, nothing to put back */
                assert_false(other->memlock_raised);
                /* a first: b's large limit stays; then b: its own.  Or b first: down to a's small one. */
                a->state = b->state = LEASE_ACTIVE;
                if (order == 0) {
                        a->state = LEASE_RELEASING;
                        lease_restore_memlock(a);
                        assert_memlock(child, large, hard);
                        b->state = LEASE_RELEASING;
                        lease_restore_memlock(b);
                } else {
                        b->state = LEASE_RELEASING;
                        lease_restore_memlock(b);
                        assert_memlock(child, small, hard);
                        a->state = LEASE_RELEASING;
                        lease_restore_memlock(a);
                }
                assert_memlock(child, 65536, hard);
                lease_restore_memlock(other);
                assert_memlock(child, 65536, hard);
                while (fx->m->n_leases > 0)
                        lease_free(fx->m->leases[fx->m->n_leases - 1]);
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
}

static void group_not_viable_wins_over_device_busy(void **state) {
        Fx *fx = *state;

        /* Group 4: one member leased, another taken by a host driver. */
        fake_pci_add(fx->root, &(FakePci) { .address = "0000:05:00.0", .driver = "passthru", .iommu_group = 4 });
        fake_pci_add(fx->root, &(FakePci) { .address = "0000:05:00.1", .driver = "vfio-pci", .iommu_group = 4 });
        fake_pci_add(fx->root, &(FakePci) { .address = "0000:05:00.2", .driver = "xhci_hcd", .iommu_group = 4 });
        fx_load(fx, "[Device 0000:05:00.0]\nPassthrough=yes\n");
        fx_lease(fx, 4, "vm-x", 4242, (const char *const[]) { "0000:05:00.1", NULL });
        assert_refused(fx, fx_check(fx, "0000:05:00.0", "vm-a"), PT_ERROR_GROUP_NOT_VIABLE,
                       "0000:05:00.2", "xhci_hcd", NULL);
}

/* manager_lookup_device() */

static void lookup_finds_device_by_short_and_long_address(void **state) {
        Fx *fx = *state;
        Device *a = NULL, *b = NULL, *c = NULL;

        fx_load(fx, NULL);
        assert_int_equal(manager_lookup_device(fx->m, "01:00.0", &a, &fx->error), 0);
        assert_int_equal(manager_lookup_device(fx->m, "0000:01:00.0", &b, &fx->error), 0);
        assert_int_equal(manager_lookup_device(fx->m, "0000:02:00.1", &c, &fx->error), 0);
        assert_false(sd_bus_error_is_set(&fx->error));
        assert_non_null(a);
        assert_ptr_equal(a, b);
        assert_string_equal(a->address, D1);
        assert_string_equal(c->address, D2B);
}

static void lookup_of_malformed_address_is_invalid_args(void **state) {
        static const char *const bad[] = {
                "zz", "", "1:0.0 ", " 01:00.0", "0000:01:00.0/..", "0000:01:20.0", "0000:01:00.8",
        };
        Fx *fx = *state;

        fx_load(fx, NULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                Device *d = NULL;

                sd_bus_error_free(&fx->error);
                assert_true(manager_lookup_device(fx->m, bad[i], &d, &fx->error) < 0);
                assert_string_equal(fx->error.name, SD_BUS_ERROR_INVALID_ARGS);
                assert_null(d);
        }
}

static void lookup_of_absent_device_is_no_such_device(void **state) {
        Fx *fx = *state;
        Device *d = NULL;

        fx_load(fx, NULL);
        assert_true(manager_lookup_device(fx->m, "06:00.0", &d, &fx->error) < 0);
        assert_string_equal(fx->error.name, PT_ERROR_NO_SUCH_DEVICE);
        assert_non_null(strstr(fx->error.message, "0000:06:00.0"));
        assert_null(d);
        /* A bridge is there in sysfs, but not tracked. */
        sd_bus_error_free(&fx->error);
        assert_true(manager_lookup_device(fx->m, BR, &d, &fx->error) < 0);
        assert_string_equal(fx->error.name, PT_ERROR_NO_SUCH_DEVICE);
        assert_null(d);
}

/* A grant's ledger write in two halves (manager_save_ledger_start/_finish): the books as they were at the start, on disk after the finish. */
static void ledger_write_in_halves(Fx *fx, int group, const char *device, bool with_worker) {
        char *devices[] = { (char *) device, NULL };
        LedgerEntry e = { .group = group, .devices = devices, .vm = (char *) "vm-a", .pid = 4242,
                          .start_time = 7, .uid = 1000, .node_owner = LEDGER_NO_UID };
        LedgerWrite *w = NULL;
        Ledger read = {};

        assert_true(with_worker == (fx->m->worker != NULL));
        assert_int_equal(ledger_add(&fx->m->ledger, &e), 0);
        assert_int_equal(manager_save_ledger_start(fx->m, true, &w), 0);
        assert_non_null(w);
        /* What changes after the start is not in this write. */
        assert_true(ledger_remove(&fx->m->ledger, group));
        assert_int_equal(manager_save_ledger_finish(w), 0);
        assert_int_equal(ledger_load(fx->paths.runtime_dir, &read, NULL), 0);
        assert_non_null(ledger_find_group(&read, group));
        assert_string_equal(ledger_find_group(&read, group)->devices[0], device);
        ledger_done(&read);
        assert_int_equal(ledger_add(&fx->m->ledger, &e), 0);
}

static void ledger_is_written_in_halves_by_a_worker_or_without_one(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        LedgerWrite *w = NULL;
        Ledger read = {};

        fx_load(fx, NULL);
        /* No loop yet, so no worker: the start writes it itself. */
        ledger_write_in_halves(fx, 1, D1, false);
        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(manager_attach_event(fx->m, event), 0);
        ledger_write_in_halves(fx, 2, D2A, true);
        assert_int_equal(ledger_load(fx->paths.runtime_dir, &read, NULL), 0);
        assert_int_equal(read.n, 2);
        ledger_done(&read);
        /* Not beside anything (a staged group's grant): on disk when the start returns, worker or not. */
        assert_true(ledger_remove(&fx->m->ledger, 2));
        assert_int_equal(manager_save_ledger_start(fx->m, false, &w), 0);
        assert_int_equal(ledger_load(fx->paths.runtime_dir, &read, NULL), 0);
        assert_int_equal(read.n, 1);
        ledger_done(&read);
        assert_int_equal(manager_save_ledger_finish(w), 0);
        w = NULL;
        assert_true(ledger_remove(&fx->m->ledger, 1));
        ledger_write_in_halves(fx, 1, D1, true);
        ledger_write_in_halves(fx, 2, D2A, true);
        /* An invalid book is not written at all. */
        fx->m->ledger.entries[0].pid = 0;
        assert_int_equal(manager_save_ledger_start(fx->m, true, &w), -EINVAL);
        assert_null(w);
        fx->m->ledger.entries[0].pid = 4242;
        sd_event_unref(event);
}

/*
 * pthread_create() as the worker's pool calls it: test-lease links with
 * -Wl,--wrap=pthread_create (Makefile), and it fails with EAGAIN, as with
 * TasksMax reached, while threads_refused is set.
 */
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
        return threads_refused ? EAGAIN : __real_pthread_create(thread, attr, fn, arg);
}

/*
 * clone() as process_write_apart() calls it for an unbind from a child of
 * its own: test-lease links with -Wl,--wrap=clone (Makefile) to count them.
 */
static unsigned clones;
int __real_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int __wrap_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int __wrap_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
        __atomic_add_fetch(&clones, 1, __ATOMIC_RELAXED);
        return __real_clone(fn, stack, flags, arg);
}

/*
 * ioctl() as the daemon calls it: test-lease links with -Wl,--wrap=ioctl
 * (Makefile) so that VFIO_GROUP_GET_STATUS on a fake tree's group node (a
 * regular file) answers as VFIO does: viable while the file is there, and
 * ENODEV once it was unlinked (a group torn down, its node made anew).
 */
int __real_ioctl(int fd, unsigned long request, ...);
int __wrap_ioctl(int fd, unsigned long request, ...);
int __wrap_ioctl(int fd, unsigned long request, ...) {
        struct stat st;
        va_list ap;
        void *arg;

        va_start(ap, request);
        arg = va_arg(ap, void *);
        va_end(ap);
        if (request == VFIO_GROUP_GET_STATUS && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
                if (st.st_nlink == 0) {
                        errno = ENODEV;
                        return -1;
                }
                ((struct vfio_group_status *) arg)->flags = VFIO_GROUP_FLAGS_VIABLE;
                return 0;
        }
        return __real_ioctl(fd, request, arg);
}

/* @l's lease ended (released) and its return run through on @event. */
static void fx_return(Fx *fx, sd_event *event, Lease *l) {
        lease_end(l, PT_LEASE_REASON_RELEASED);
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
}

/* D1 marked, on vfio-pci and leased to this process, with a loop for its return (*ret_event, the caller's). */
static Lease *fx_d1_leased_on_vfio(Fx *fx, sd_event **ret_event) {
        *ret_event = fx_load_looping(fx, MARKED_STATE);
        fake_bind(fx->root, D1, "vfio-pci");
        return fx_lease(fx, 1, "vm-a", getpid(), (const char *const[]) { D1, NULL });
}

/* D1's lease ended and its return run through: how many unbinds went through a child process. */
static unsigned return_clones(Fx *fx) {
        sd_event *event = NULL;
        Lease *l = fx_d1_leased_on_vfio(fx, &event);

        __atomic_store_n(&clones, 0, __ATOMIC_RELAXED);
        fx_return(fx, event, l);
        assert_int_equal(fx->m->n_leases, 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D1);
        sd_event_unref(event);
        return __atomic_load_n(&clones, __ATOMIC_RELAXED);
}

/*
 * The return's worker opened the group's node (nobody else had it): it
 * keeps it through the unbind, which then cannot wait, and writes
 * vfio-pci's unbind from its own thread; no child process.
 */
static void a_return_that_holds_the_node_unbinds_in_its_thread(void **state) {
        Fx *fx = *state;

        fake_write(fx->root, "dev/vfio/1", "");
        assert_int_equal(return_clones(fx), 0);
}

/* The node did not open (here: no node at all): the unbind may wait, so a child writes it. */
static void a_return_without_the_node_unbinds_from_a_child(void **state) {
        assert_int_equal(return_clones(*state), 1);
}

/*
 * A PF with VFs: its unbind from vfio-pci removes the VFs, each waiting for
 * its own device fds in a group of its own, which the node held here does
 * not keep away: a child writes it.
 */
static void a_pf_with_vfs_unbinds_from_a_child_though_the_node_is_held(void **state) {
        Fx *fx = *state;

        fake_write(fx->root, "dev/vfio/1", "");
        fake_symlink(fx->root, "devices/pci0000:00/" D1 "/virtfn0", "../0000:01:10.0");
        assert_int_equal(return_clones(fx), 1);
}

/* How many of this process's fds are open on the fake tree's file @rel. */
static unsigned fds_open_on(Fx *fx, const char *rel) {
        _cleanup_free_ char *path = fake_path(fx->root, rel);
        _cleanup_(closedirp) DIR *dir = opendir("/proc/self/fd");
        struct stat want, st;
        unsigned n = 0;

        assert_non_null(dir);
        assert_int_equal(stat(path, &want), 0);
        for (struct dirent *de; (de = readdir(dir));) {
                int fd = atoi(de->d_name);

                if (de->d_name[0] != '.' && fd != dirfd(dir) && fstat(fd, &st) == 0 && st.st_dev == want.st_dev &&
                    st.st_ino == want.st_ino)
                        n++;
        }
        return n;
}

#define D1_DIR "devices/pci0000:00/" D1

/* The fake tree's group node @rel, root's, with @mode (VFIO makes it 0600). */
static void fx_node(Fx *fx, const char *rel, mode_t mode) {
        _cleanup_free_ char *path = fake_path(fx->root, rel);

        fake_write(fx->root, rel, "");
        assert_int_equal(chmod(path, mode), 0);
}

/*
 * D1 leased and given back with StageIdleGroups=yes, the return's worker
 * holding the group's node (which the test's fake tree has): staged.
 */
static void fx_d1_staged(Fx *fx, sd_event **ret_event, const char *reset_method) {
        Lease *l = fx_d1_leased_on_vfio(fx, ret_event);

        fx->m->config.stage_idle_groups = true;
        fx_node(fx, "dev/vfio/1", 0600);
        if (reset_method)
                fake_writef(fx->root, D1_DIR "/reset_method", "%s\n", reset_method);
        /* As the grant's udev event has it read: on vfio-pci. */
        assert_int_equal(device_refresh(fx_device(fx, D1)), 0);
        __atomic_store_n(&clones, 0, __ATOMIC_RELAXED);
        fx_return(fx, *ret_event, l);
        assert_int_equal(fx->m->n_leases, 0);
}

static void assert_vfio_unbind_not_written(Fx *fx) {
        _cleanup_free_ char *s = fake_read(fx->root, "bus/pci/drivers/vfio-pci/unbind");

        assert_true(!s || !*s);
}

/*
 * StageIdleGroups=yes: the return resets the group where it is, on
 * vfio-pci, and keeps the node its worker opened; nothing is unbound, no
 * child process; D1 is available to the next VM, with the reset recorded.
 */
static void a_staged_return_resets_on_vfio_and_keeps_the_node(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        assert_non_null(d->stage);
        assert_int_equal(d->stage->group, 1);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 1);
        assert_true(device_driver_is(d, PT_VFIO_DRIVER));
        assert_int_equal(device_state(d), DEVICE_AVAILABLE);
        assert_false(d->quarantined);
        assert_fake_file(fx->root, D1_DIR "/reset", "1");
        assert_non_null(d->reset_results);
        assert_string_equal(d->reset_results[0], "flr: ok");
        assert_vfio_unbind_not_written(fx);
        assert_int_equal(__atomic_load_n(&clones, __ATOMIC_RELAXED), 0);
        assert_int_equal(fx_check(fx, D1, "vm-b"), 0);
        sd_event_unref(event);
}

/*
 * A group of two (and a bridge, which stays where it is) is staged whole:
 * one stage, one node, both members available; a grant must cover both
 * (stage_covers()); one member's quarantine takes both off the stage.
 */
static void a_group_of_two_is_staged_whole(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *a, *b;
        Lease *l;

        event = fx_load_looping(fx, MARKED_STATE);
        fx->m->config.stage_idle_groups = true;
        fake_bind(fx->root, D2A, "vfio-pci");
        fake_bind(fx->root, D2B, "vfio-pci");
        fx_node(fx, "dev/vfio/2", 0600);
        a = fx_device(fx, D2A);
        b = fx_device(fx, D2B);
        assert_int_equal(device_refresh(a), 0);
        assert_int_equal(device_refresh(b), 0);
        l = fx_lease(fx, 2, "vm-a", getpid(), (const char *const[]) { D2A, D2B, NULL });
        fx_return(fx, event, l);
        assert_int_equal(fx->m->n_leases, 0);
        assert_non_null(a->stage);
        assert_ptr_equal(a->stage, b->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/2"), 1);
        assert_int_equal(device_state(a), DEVICE_AVAILABLE);
        assert_int_equal(device_state(b), DEVICE_AVAILABLE);
        assert_true(stage_covers(a, (char *[]) { (char *) D2A, (char *) D2B, NULL }));
        assert_false(stage_covers(a, (char *[]) { (char *) D2A, NULL }));
        assert_false(stage_covers(a, (char *[]) { (char *) D2A, (char *) D2B, (char *) D1, NULL }));
        assert_int_equal(fx_check(fx, D2B, "vm-b"), 0);
        assert_int_equal(manager_set_quarantined(fx->m, b, true), 0);
        assert_null(a->stage);
        assert_null(b->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/2"), 0);
        sd_event_unref(event);
}

/* With StageIdleGroups=no the same return unbinds and rebinds, and keeps nothing open. */
static void an_unstaged_return_keeps_no_node(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Lease *l = fx_d1_leased_on_vfio(fx, &event);

        fx->m->config.stage_idle_groups = false;

        fake_write(fx->root, "dev/vfio/1", "");
        fx_return(fx, event, l);
        assert_null(fx_device(fx, D1)->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D1);
        sd_event_unref(event);
}

/*
 * A reset on vfio-pci that no trusted method made (pm only): no stage; the
 * group leaves vfio-pci (unbound from this thread, the node still held) and
 * comes back quarantined, its one reset recorded, not run again.
 */
static void a_staged_return_whose_reset_fails_is_not_staged(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *d;

        fx_d1_staged(fx, &event, "pm");
        d = fx_device(fx, D1);
        assert_null(d->stage);
        assert_true(d->quarantined);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D1);
        assert_int_equal(__atomic_load_n(&clones, __ATOMIC_RELAXED), 0);
        assert_int_equal(strv_length(d->reset_results), 1);
        assert_string_equal(d->reset_results[0], "pm: ok (not trusted to clear state)");
        sd_event_unref(event);
}

/*
 * A node others could open, were passthrud to die with the stage (a udev
 * rule's group access here), is not kept: the return goes on as without
 * StageIdleGroups=, reset once.
 */
static void a_node_open_to_a_group_is_not_staged(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Lease *l = fx_d1_leased_on_vfio(fx, &event);

        fx->m->config.stage_idle_groups = true;
        fx_node(fx, "dev/vfio/1", 0660);
        assert_int_equal(device_refresh(fx_device(fx, D1)), 0);
        fx_return(fx, event, l);
        assert_null(fx_device(fx, D1)->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D1);
        assert_int_equal(strv_length(fx_device(fx, D1)->reset_results), 1);
        sd_event_unref(event);
}

/* A PF with a VF: its unbind could wait beyond the group, so it is never staged. */
static void a_pf_with_vfs_is_not_staged(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;

        fake_symlink(fx->root, D1_DIR "/virtfn0", "../0000:01:10.0");
        fx_d1_staged(fx, &event, NULL);
        assert_null(fx_device(fx, D1)->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        sd_event_unref(event);
}

/* Acquire of D1 for vm-b by @pid (its pidfd @pidfd, its start time @start): what lease_acquire() returns. */
static int fx_acquire_d1(Fx *fx, pid_t pid, int pidfd, uint64_t start, Lease **l, int *fd) {
        return lease_acquire(fx->m, fx_device(fx, D1), "vm-b", strv_copy((char *[]) { (char *) D1, NULL }), pid,
                             pidfd, start, getuid(), &(AcquireOptions) { .node_owner = (uid_t) -1 }, l, fd,
                             &fx->error);
}

/*
 * A grant of a staged group hands over the node the stage holds (the same
 * file, not a new open) and moves nothing (driver_override untouched);
 * the stage is gone, the lease on the device and in the ledger.
 */
static void a_grant_of_a_staged_group_hands_over_its_node(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *override = NULL, *after = NULL;
        sd_event *event = NULL;
        struct stat held, got;
        Lease *l = NULL;
        int fd = -EBADF;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        assert_int_equal(fstat(d->stage->fd, &held), 0);
        override = fake_read(fx->root, D1_DIR "/driver_override");
        assert_int_equal(fx_acquire_d1(fx, getpid(), pidfd_open(getpid()), 0, &l, &fd), 0);
        assert_non_null(l);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &got), 0);
        assert_true(got.st_ino == held.st_ino && got.st_dev == held.st_dev);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 1);    /* the one handed over */
        after = fake_read(fx->root, D1_DIR "/driver_override");
        assert_string_equal(after, override);
        assert_null(d->stage);
        assert_ptr_equal(d->lease, l);
        assert_non_null(ledger_find_group(&fx->m->ledger, 1));
        close(fd);
        sd_event_unref(event);
}

/*
 * A grant of a staged group that fails after taking its node (here the
 * caller exited during the call) stages the group again, node and all,
 * moving nothing: nothing lost, and out of the ledger again.
 */
static void a_failed_grant_of_a_staged_group_stages_it_again(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Lease *l = NULL;
        int fd = -EBADF, pidfd;
        pid_t child;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(0);
        pidfd = pidfd_open(child);
        assert_true(pidfd >= 0);
        assert_int_equal(waitpid(child, NULL, 0), child);
        assert_true(fx_acquire_d1(fx, child, pidfd, 1, &l, &fd) < 0);
        assert_non_null(strstr(fx->error.message, "exited during the call"));
        assert_null(l);
        assert_true(fd < 0);
        assert_non_null(d->stage);
        assert_false(d->quarantined);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 1);
        assert_int_equal(device_state(d), DEVICE_AVAILABLE);
        assert_int_equal(fx->m->ledger.n, 0);
        sd_event_unref(event);
}

/*
 * A member unbound and bound to vfio-pci again behind passthrud's back:
 * its group is made anew, and the node the stage holds is not its node
 * any more (the fake tree's node unlinked and made again).  At the
 * member's event the stage ends, moving nothing, and the member is
 * quarantined; a grant meanwhile is refused as quarantined too.
 */
static void a_stage_whose_group_was_made_anew_ends_quarantined(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *node = NULL;
        sd_event *event = NULL;
        Lease *l = NULL;
        int fd = -EBADF;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        fake_unlink(fx->root, "dev/vfio/1");
        fx_node(fx, "dev/vfio/1", 0600);
        /* The grant first, before the event is read: refused, nothing handed over. */
        assert_refused(fx, fx_acquire_d1(fx, getpid(), pidfd_open(getpid()), 0, &l, &fd), PT_ERROR_QUARANTINED,
                       D1, "Reset", NULL);
        assert_true(fd < 0);
        assert_null(d->stage);
        assert_true(d->quarantined);
        assert_int_equal(device_state(d), DEVICE_FOREIGN);
        assert_vfio_unbind_not_written(fx);
        assert_int_equal(fx->m->ledger.n, 0);
        /* The same at the event, for a stage made again. */
        assert_int_equal(manager_set_quarantined(fx->m, d, false), 0);
        d->foreign_seen = false;
        node = fake_path(fx->root, "dev/vfio/1");
        assert_int_equal(stage_new(fx->m, 1, (char *[]) { (char *) D1, NULL }, open(node, O_RDWR | O_CLOEXEC)), 0);
        fake_unlink(fx->root, "dev/vfio/1");
        manager_refresh_device(fx->m, D1);
        assert_null(d->stage);
        assert_true(d->quarantined);
        /* On vfio-pci, another tool's maybe: foreign, which root's Reset refuses there. */
        assert_int_equal(device_state(d), DEVICE_FOREIGN);
        sd_event_unref(event);
}

/*
 * A stage that holds only part of the group a grant moves (a member came
 * since): it ends before the grant moves anything, so that its node does
 * not keep the grant's open out.  A member that could not be put back on
 * passthru (the fake tree binds nothing: D2A) is quarantined, and the
 * grant refused naming it rather than handing it over.
 */
static void a_grant_of_a_group_grown_since_its_stage_ends_the_stage(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *node = NULL;
        Lease *l = NULL;
        int fd = -EBADF;
        Device *a;

        fx_load(fx, MARKED_STATE);
        fake_bind(fx->root, D2A, "vfio-pci");
        fake_write(fx->root, "dev/vfio/2", "");
        a = fx_device(fx, D2A);
        assert_int_equal(device_refresh(a), 0);
        node = fake_path(fx->root, "dev/vfio/2");
        assert_int_equal(stage_new(fx->m, 2, (char *[]) { (char *) D2A, NULL }, open(node, O_RDWR | O_CLOEXEC)), 0);
        assert_int_equal(fds_open_on(fx, "dev/vfio/2"), 1);
        assert_true(lease_acquire(fx->m, fx_device(fx, D2B), "vm-b",
                                  strv_copy((char *[]) { (char *) D2A, (char *) D2B, NULL }), getpid(),
                                  pidfd_open(getpid()), 0, getuid(), &(AcquireOptions) { .node_owner = (uid_t) -1 },
                                  &l, &fd, &fx->error) < 0);
        assert_string_equal(fx->error.name, PT_ERROR_QUARANTINED);
        assert_non_null(strstr(fx->error.message, D2A " was quarantined as its group's stage ended"));
        assert_true(a->quarantined);
        assert_null(a->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/2"), 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D2A);
        assert_int_equal(fx->m->ledger.n, 0);
}

/*
 * A staged member that leaves vfio-pci behind passthrud's back: the stage
 * ends at its event (the node closed), and the device is read as it is.
 */
static void a_staged_member_moved_away_ends_the_stage(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        fake_bind(fx->root, D1, "e1000e");
        manager_refresh_device(fx->m, D1);
        assert_null(d->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_true(device_driver_is(d, "e1000e"));
        assert_true(d->quarantined);
        assert_int_equal(device_state(d), DEVICE_QUARANTINED);
        sd_event_unref(event);
}

/*
 * A staged PF that got VFs behind passthrud's back (vfio-pci's
 * enable_sriov): taking it off its stage would unbind it on the loop and
 * wait for its VFs' fds; it is left on vfio-pci instead, quarantined, the
 * node closed, no child process started.
 */
static void an_unstage_leaves_a_pf_grown_vfs_quarantined_without_waiting(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        fake_symlink(fx->root, D1_DIR "/virtfn0", "../0000:01:10.0");
        __atomic_store_n(&clones, 0, __ATOMIC_RELAXED);
        assert_int_equal(stage_unstage(d->stage, "a test"), -EBUSY);
        assert_null(d->stage);
        assert_true(d->quarantined);
        assert_int_equal(device_state(d), DEVICE_FOREIGN);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_vfio_unbind_not_written(fx);
        assert_int_equal(__atomic_load_n(&clones, __ATOMIC_RELAXED), 0);
        sd_event_unref(event);
}

/*
 * A staged member removed (its event reads -ENODEV): the stage ends, and
 * the address is not quarantined: nothing but its removal happened to it
 * (a one-member group's node died with it, which is not a rebind).
 */
static void a_staged_member_removed_ends_the_stage_unquarantined(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;

        fx_d1_staged(fx, &event, NULL);
        fake_unlink(fx->root, "dev/vfio/1");            /* the group goes with its one member */
        fake_unlink(fx->root, "bus/pci/devices/" D1);     /* gone from the bus */
        manager_refresh_device(fx->m, D1);
        assert_null(manager_find_device(fx->m, D1));
        assert_int_equal(strv_length(fx->m->quarantine), 0);
        sd_event_unref(event);
}

/*
 * The device asked for removed with its event still queued: the check's
 * own read finds it gone and answers with the contract's name
 * (NoSuchDevice), not System.Error.ENODEV.  (A member of its group gone so
 * is left out of the lease: nothing of it can reach the VM.)
 */
static void a_device_removed_before_its_event_is_handled_is_named(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fx_device(fx, D1)->refresh_queued = true;
        fake_unlink(fx->root, "bus/pci/devices/" D1);
        assert_refused(fx, fx_check(fx, D1, "vm-a"), PT_ERROR_NO_SUCH_DEVICE, D1, "left the bus", NULL);
}

/*
 * Acquire's own re-read of a device whose event is queued (lease_check())
 * runs the stage's rules too: a stage found dead there ends, its member
 * foreign, and the call is refused without anything handed over.
 */
static void a_queued_event_read_by_the_check_ends_a_dead_stage(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        fake_unlink(fx->root, "dev/vfio/1");
        d->refresh_queued = true;
        assert_refused(fx, fx_check(fx, D1, "vm-b"), PT_ERROR_DEVICE_BUSY, "another tool", NULL);
        assert_null(d->stage);
        assert_true(d->quarantined);
        sd_event_unref(event);
}

/* No return stages a group in maintenance mode (every idle device then is passthru's). */
static void no_group_is_staged_in_maintenance_mode(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Lease *l = fx_d1_leased_on_vfio(fx, &event);

        fx->m->config.stage_idle_groups = true;
        fx->m->state.maintenance = true;
        fx_node(fx, "dev/vfio/1", 0600);
        assert_int_equal(device_refresh(fx_device(fx, D1)), 0);
        fx_return(fx, event, l);
        assert_null(fx_device(fx, D1)->stage);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D1);
        sd_event_unref(event);
}

/*
 * A staged member quarantined: the stage ends first.  Its members are
 * unbound from vfio-pci from this thread while the node is held, then
 * bound to passthru (which the fake tree cannot do: quarantined, as the
 * journal says, rather than left on vfio-pci leased to nobody).
 */
static void a_quarantine_ends_the_stage_unbinding_with_the_node_held(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Device *d;

        fx_d1_staged(fx, &event, NULL);
        d = fx_device(fx, D1);
        assert_int_equal(manager_set_quarantined(fx->m, d, true), 0);
        assert_null(d->stage);
        assert_true(d->quarantined);
        assert_int_equal(fds_open_on(fx, "dev/vfio/1"), 0);
        assert_fake_file(fx->root, "bus/pci/drivers/vfio-pci/unbind", D1);
        assert_fake_file(fx->root, D1_DIR "/driver_override", PT_STUB_DRIVER);
        assert_int_equal(__atomic_load_n(&clones, __ATOMIC_RELAXED), 0);
        sd_event_unref(event);
}

/*
 * A lease whose return cannot start (no thread for its job) stays
 * releasing, refused to the next caller, and its return is tried again
 * until it runs: the group comes back, not releasing until a restart.
 */
static void a_return_that_cannot_start_is_tried_again(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Lease *l;

        event = fx_load_looping(fx, MARKED_STATE);
        l = fx_lease(fx, 1, "vm-a", getpid(), (const char *const[]) { D1, NULL });
        threads_refused = true;
        lease_end(l, PT_LEASE_REASON_RELEASED);
        assert_int_equal(l->state, LEASE_RELEASING);
        assert_non_null(l->return_timer);
        for (int i = 0; i < 25; i++)
                (void) sd_event_run(event, 100000);
        /* Tried again (2.5 s), still no thread: still releasing, and still refused. */
        assert_ptr_equal(fx_device(fx, D1)->lease, l);
        assert_int_equal(l->state, LEASE_RELEASING);
        assert_refused(fx, fx_check(fx, D1, "vm-b"), PT_ERROR_DEVICE_BUSY, "releasing", NULL);
        threads_refused = false;
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_int_equal(fx->m->n_leases, 0);
        assert_null(fx_device(fx, D1)->lease);
        sd_event_unref(event);
}

/*
 * A member the daemon no longer knew when its group's lease ended (its
 * refresh failed, a restart's ledger named it): no reset method was read
 * and none ran, so it comes back quarantined, on the list on disk, while
 * the member it did reset comes back available; and the lease is out of
 * the ledger once the group is back.
 */
static void a_member_unknown_at_the_return_comes_back_quarantined(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        char *path, *list;
        Lease *l;

        event = fx_load_looping(fx, MARKED_STATE);
        l = fx_lease(fx, 2, "vm-a", getpid(), (const char *const[]) { D2A, D2B, NULL });
        manager_remove_device(fx->m, fx_device(fx, D2B));
        assert_null(manager_find_device(fx->m, D2B));
        fx_return(fx, event, l);
        assert_int_equal(fx->m->n_leases, 0);
        assert_null(ledger_find_group(&fx->m->ledger, 2));
        assert_true(fx_device(fx, D2B)->quarantined);
        assert_int_equal(device_state(fx_device(fx, D2B)), DEVICE_QUARANTINED);
        assert_false(fx_device(fx, D2A)->quarantined);
        path = fake_path(fx->root, "run/passthru/quarantine");
        assert_int_equal(read_full_file(path, &list, NULL), 0);
        assert_non_null(strstr(list, D2B));
        assert_null(strstr(list, D2A));
        free(list);
        free(path);
        sd_event_unref(event);
}

/*
 * The quarantine list as an administrator may write it by hand: an
 * address without its domain ("02:00.0") or in capitals reads as the
 * device it names, which comes back quarantined, not available.
 */
static void a_hand_written_quarantine_list_quarantines_what_it_names(void **state) {
        Fx *fx = *state;

        fake_pci_add(fx->root, &(FakePci) { .address = "0000:0a:00.0", .driver = "passthru", .iommu_group = 10 });
        fake_write(fx->root, "run/passthru/quarantine",
                   "01:00.0\n0000:02:00.1\n0000:0A:00.0\n");
        fx_load(fx, MARKED_STATE
                "\n[Device 0000:0a:00.0]\n"
                "Passthrough=yes\n");
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, D2B)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, "0000:0a:00.0")), DEVICE_QUARANTINED);
        assert_false(fx_device(fx, D2A)->quarantined);
        assert_true(strv_contains(fx->m->quarantine, D1));
        assert_true(strv_contains(fx->m->quarantine, "0000:0a:00.0"));
}

/* The quarantine list on disk, read back; NULL when there is none. */
static char *fx_quarantine_file(Fx *fx) {
        _cleanup_free_ char *path = fake_path(fx->root, "run/passthru/quarantine");
        char *text = NULL;

        return read_full_file(path, &text, NULL) < 0 ? NULL : text;
}

/* A list from another system's editor ("\r\n") names its devices as one written here does. */
static void a_quarantine_list_with_crlf_line_ends_is_read(void **state) {
        Fx *fx = *state;

        fake_write(fx->root, "run/passthru/quarantine", D1 "\r\n" D2A "\r\n");
        fx_load(fx, MARKED_STATE);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, D2A)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, D2B)), DEVICE_AVAILABLE);
        assert_false(fx->m->quarantine_damaged);
}

/*
 * A list that cannot be read whole may have named any device: every one
 * that may be ours (marked, or on passthru or vfio-pci, as a device only
 * passthru.hide= names is) comes back quarantined, a host device does
 * not, and the list on disk is written again with them.
 */
static void assert_damaged_list_quarantines_every_device_of_ours(Fx *fx) {
        _cleanup_free_ char *list = NULL;

        assert_true(fx->m->quarantine_damaged);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, D2A)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, D2B)), DEVICE_QUARANTINED);
        assert_false(fx_device(fx, D3)->quarantined);
        list = fx_quarantine_file(fx);
        assert_non_null(list);
        assert_non_null(strstr(list, D1));
        assert_non_null(strstr(list, D2B));
        assert_null(strstr(list, D3));
}

static void a_quarantine_list_with_a_word_not_an_address_fails_closed(void **state) {
        Fx *fx = *state;

        fake_write(fx->root, "run/passthru/quarantine", D2A "\npci-0000:02:00.1\n");
        /* D1 is marked by no state file: passthru.ko's rule (on passthru) is all that says it is ours. */
        fx_load(fx, "[Device " D2A "]\nPassthrough=yes\n");
        assert_damaged_list_quarantines_every_device_of_ours(fx);
}

static void a_quarantine_list_with_a_nul_byte_fails_closed(void **state) {
        static const char text[] = D2A "\n\0\n" D2B "\n";
        Fx *fx = *state;

        fake_write_bin(fx->root, "run/passthru/quarantine", text, sizeof(text) - 1);
        fx_load(fx, MARKED_STATE);
        assert_damaged_list_quarantines_every_device_of_ours(fx);
}

static void an_unreadable_quarantine_list_fails_closed(void **state) {
        Fx *fx = *state;

        fake_mkdir_p(fx->root, "run/passthru/quarantine/x");
        fx_load(fx, MARKED_STATE);
        assert_true(fx->m->quarantine_damaged);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_int_equal(device_state(fx_device(fx, D2B)), DEVICE_QUARANTINED);
        assert_false(fx_device(fx, D3)->quarantined);
}

/*
 * A quarantine the list cannot take (/run full, read only, removed): held
 * all the same, and no ledger write happens before the list is written (a
 * restart would otherwise find neither); once it can be, the next ledger
 * write writes it first, and a restart finds it.
 */
static void a_quarantine_the_list_cannot_take_holds_and_waits_for_the_ledger(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *list = NULL;
        int cached;

        fx_load(fx, MARKED_STATE);
        assert_int_equal(manager_save_ledger(fx->m), 0);
        cached = fx->m->runtime_fd;
        /* A write that fails: the runtime directory's fd is no directory. */
        fx->m->runtime_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fx->m->runtime_fd >= 0);
        assert_true(manager_set_quarantined(fx->m, fx_device(fx, D1), true) < 0);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_true(fx->m->quarantine_unsaved);
        assert_true(manager_save_ledger(fx->m) < 0);
        assert_null(fx_quarantine_file(fx));

        /* Lifting it cannot be written either: it stays, in memory as on disk. */
        assert_true(manager_set_quarantined(fx->m, fx_device(fx, D1), false) < 0);
        assert_true(fx_device(fx, D1)->quarantined);
        assert_true(strv_contains(fx->m->quarantine, D1));

        close(fx->m->runtime_fd);
        fx->m->runtime_fd = cached;
        assert_int_equal(manager_save_ledger(fx->m), 0);
        assert_false(fx->m->quarantine_unsaved);
        list = fx_quarantine_file(fx);
        assert_non_null(list);
        assert_non_null(strstr(list, D1));

        manager_free(fx->m);
        fx->m = NULL;
        fx_load(fx, NULL);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
}

/*
 * The list written again by the loop, without waiting for a lease change,
 * once it can be; and with it the ledger, whose lease it had kept on disk.
 */
static void a_quarantine_the_list_cannot_take_is_written_when_it_can_be(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *list = NULL, *ledger_path = fake_path(fx->root, "run/passthru/leases"), *ledger = NULL;
        sd_event *event = NULL;
        int cached;

        event = fx_load_looping(fx, MARKED_STATE);
        fx->m->quarantine_retry_usec = 20 * 1000;
        assert_int_equal(ledger_add(&fx->m->ledger, &(LedgerEntry) {
                .group = 1, .devices = (char *[]) { (char *) D1, NULL }, .vm = (char *) "vm-a", .pid = getpid(),
                .start_time = 1, .node_owner = LEDGER_NO_UID,
        }), 0);
        assert_int_equal(manager_save_ledger(fx->m), 0);
        assert_int_equal(read_full_file(ledger_path, &ledger, NULL), 0);
        assert_non_null(strstr(ledger, "[Lease 1]"));
        ledger = mfree(ledger);
        cached = fx->m->runtime_fd;
        fx->m->runtime_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(manager_set_quarantined(fx->m, fx_device(fx, D2A), true) < 0);
        ledger_remove(&fx->m->ledger, 1);       /* a lease's end: its write waits */
        assert_true(manager_save_ledger(fx->m) < 0);
        for (int i = 0; i < 5; i++)             /* retried, and still failing */
                (void) sd_event_run(event, 30 * 1000);
        assert_true(fx->m->quarantine_unsaved);
        assert_non_null(fx->m->quarantine_retry);

        close(fx->m->runtime_fd);
        fx->m->runtime_fd = cached;
        for (int i = 0; i < 100 && fx->m->quarantine_unsaved; i++)
                (void) sd_event_run(event, 30 * 1000);
        assert_false(fx->m->quarantine_unsaved);
        assert_null(fx->m->quarantine_retry);
        list = fx_quarantine_file(fx);
        assert_non_null(list);
        assert_non_null(strstr(list, D2A));
        assert_int_equal(read_full_file(ledger_path, &ledger, NULL), 0);
        assert_null(strstr(ledger, "[Lease 1]"));
        sd_event_unref(event);
}

/* The runtime directory removed under the daemon (rm -r /run/passthru): made again at the next write. */
static void a_runtime_directory_removed_is_made_again(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *list = NULL, *dir = fake_path(fx->root, "run/passthru");

        fx_load(fx, MARKED_STATE);
        assert_int_equal(manager_save_ledger(fx->m), 0);
        assert_int_equal(nftw(dir, fake_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        assert_int_equal(manager_set_quarantined(fx->m, fx_device(fx, D1), true), 0);
        list = fx_quarantine_file(fx);
        assert_non_null(list);
        assert_non_null(strstr(list, D1));
}

/*
 * A ledger that names a device of another group, or one a host driver
 * holds (edited by hand, or another device took the address while the
 * daemon was away): the return leaves it alone; an entry with nothing
 * else is dropped.
 */
/* The pid of a process that has exited (and been reaped): a holder that is gone. */
static pid_t gone_pid(void) {
        pid_t child = fork();

        assert_true(child >= 0);
        if (child == 0)
                _exit(0);
        assert_int_equal(waitpid(child, NULL, 0), child);
        return child;
}

/* A process that lives until killed, or until the test ends (one that fails half-way too). */
static pid_t live_pid(void) {
        pid_t child = fork();

        assert_true(child >= 0);
        if (child == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                pause();
                _exit(0);
        }
        return child;
}

/*
 * A start that finds D1 on vfio-pci and the ledger's entry for group 1
 * ended (Returning=@returning) with holder @pid: reconciled with no thread
 * to run the return yet (threads_refused is left on); its one lease.
 */
static Lease *fx_restart_returning(Fx *fx, sd_event **event, pid_t pid, uint64_t start, const char *returning) {
        char text[512];

        snprintf(text, sizeof(text),
                 "[Lease 1]\nDevices=" D1 "\nVm=vm-a\nPid=%d\nStartTime=%" PRIu64 "\nUid=0\nReturning=%s\n",
                 (int) pid, start, returning);
        fake_bind(fx->root, D1, "vfio-pci");
        fake_write(fx->root, "run/passthru/leases", text);
        fx_load(fx, MARKED_STATE);
        assert_int_equal(sd_event_new(event), 0);
        assert_int_equal(manager_attach_event(fx->m, *event), 0);
        threads_refused = true;
        assert_int_equal(lease_reconcile(fx->m), 0);
        assert_int_equal(fx->m->n_leases, 1);
        return fx->m->leases[0];
}

/*
 * Root's revoke is on disk before its grace period runs: a daemon
 * restarted meanwhile revokes the lease again, from the start, instead of
 * adopting it as a live lease (the revoke forgotten, the holder keeping
 * the group).  A restart finds the holder alive: LeaseRevoked again, a
 * whole grace period, then the kill, and the group comes back.
 */
static void revoke_then_restart(void **state, bool released_first) {
        Fx *fx = *state;
        sd_event *event = NULL;
        char cgroup[64];
        _cleanup_free_ char *text = NULL;
        uint64_t start = 0;
        bool killed = false;
        pid_t child;
        Lease *l;

        child = live_pid();
        assert_int_equal(proc_start_time(child, &start), 0);
        fake_bind(fx->root, D1, "vfio-pci");
        event = fx_load_looping(fx, MARKED_STATE);
        fx->m->config.revoke_grace_usec = 60 * 1000 * 1000;    /* still running when the daemon "stops" */
        l = fx_lease(fx, 1, "vm-a", child, (const char *const[]) { D1, NULL });
        l->start_time = start;
        assert_int_equal(ledger_add(&fx->m->ledger, &(LedgerEntry) {
                .group = 1, .devices = l->devices, .vm = l->vm, .pid = child, .start_time = start,
                .uid = 0, .node_owner = LEDGER_NO_UID,
        }), 0);
        assert_int_equal(manager_save_ledger(fx->m), 0);
        if (released_first) {
                /* Its own Release, the group kept open: the return waits for it. */
                threads_refused = true;
                lease_end(l, PT_LEASE_REASON_RELEASED);
                text = fake_read(fx->root, "run/passthru/leases");
                assert_non_null(strstr(text, "\nReturning=released\n"));
                text = mfree(text);
        }
        lease_revoke(l);
        assert_int_equal(l->state, released_first ? LEASE_RELEASING : LEASE_REVOKING);
        text = fake_read(fx->root, "run/passthru/leases");
        assert_non_null(text);
        assert_non_null(strstr(text, "\nReturning=revoked\n"));
        text = mfree(text);

        /* The daemon stops during the grace period; the next one reads that ledger. */
        threads_refused = false;
        manager_free(fx->m);
        fx->m = NULL;
        sd_event_unref(event);
        snprintf(cgroup, sizeof(cgroup), "proc/%d", (int) child);
        fake_mkdir_p(fx->root, cgroup);
        strcat(cgroup, "/cgroup");
        fake_write(fx->root, cgroup, "0::/machine.slice/vm-a.scope\n");
        event = fx_load_looping(fx, MARKED_STATE);
        fx->m->config.revoke_grace_usec = 50 * 1000;
        assert_int_equal(lease_reconcile(fx->m), 0);
        assert_int_equal(fx->m->n_leases, 1);
        l = fx->m->leases[0];
        assert_int_equal(l->state, LEASE_REVOKING);
        assert_non_null(l->grace_timer);
        assert_true(l->pidfd >= 0);
        /* Its cgroup read, as at a grant: the kill reaches what the holder left in it. */
        assert_string_equal(l->cgroup, "/machine.slice/vm-a.scope");

        /* The grace period over, the holder is killed and the group comes back. */
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_int_equal(fx->m->n_leases, 0);
        assert_null(ledger_find_group(&fx->m->ledger, 1));
        for (int i = 0; i < 100 && !killed; i++) {
                killed = waitpid(child, NULL, WNOHANG) == child;
                if (!killed)
                        (void) sd_event_run(event, 50000);
        }
        assert_true(killed);
        /* The kill's job told back before the manager goes (its done frees it). */
        for (int i = 0; i < 100 && worker_pending(fx->m->worker) > 0; i++)
                (void) sd_event_run(event, 50000);
        assert_int_equal(worker_pending(fx->m->worker), 0);
        sd_event_unref(event);
}

static void a_lease_revoked_in_its_grace_period_is_revoked_again_after_a_restart(void **state) {
        revoke_then_restart(state, false);
}

/* Its holder called Release and kept the group; then root revoked it: revoked again after a restart, not waited for. */
static void a_released_lease_root_revoked_is_revoked_again_after_a_restart(void **state) {
        revoke_then_restart(state, true);
}

/* A revoke whose holder had already exited writes nothing more: its return starts at once. */
static void a_ledger_entry_revoked_whose_holder_is_gone_goes_on_with_its_return(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        Lease *l;

        l = fx_restart_returning(fx, &event, gone_pid(), 1, "revoked");
        assert_int_equal(l->state, LEASE_RELEASING);
        assert_string_equal(l->reason, PT_LEASE_REASON_REVOKED);
        assert_null(l->grace_timer);
        threads_refused = false;
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_int_equal(fx->m->n_leases, 0);
        sd_event_unref(event);
}

static void a_ledger_naming_a_host_device_leaves_it_alone(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        _cleanup_free_ char *unbind = NULL;
        char text[512];
        pid_t child;

        child = gone_pid();     /* a holder that is gone */
        fake_pci_add(fx->root, &(FakePci) {
                .address = "0000:04:00.0", .vendor = 0x8086, .device = 0x10d3, .class = 0x020000,
                .driver = "e1000e", .iommu_group = 4,
        });
        snprintf(text, sizeof(text),
                 "[Lease 1]\nDevices=" D1 " " D3 "\nVm=vm-a\nPid=%d\nStartTime=1\nUid=0\n\n"
                 "[Lease 4]\nDevices=0000:04:00.0\nVm=vm-b\nPid=%d\nStartTime=1\nUid=0\n", (int) child,
                 (int) child);
        fake_write(fx->root, "run/passthru/leases", text);
        event = fx_load_looping(fx, MARKED_STATE);
        assert_int_equal(lease_reconcile(fx->m), 0);
        assert_null(ledger_find_group(&fx->m->ledger, 4));
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_int_equal(fx->m->n_leases, 0);
        unbind = fake_read(fx->root, "bus/pci/drivers/e1000e/unbind");
        assert_true(!unbind || (!strstr(unbind, D3) && !strstr(unbind, "0000:04:00.0")));
        assert_false(fx_device(fx, D3)->quarantined);
        assert_false(fx_device(fx, "0000:04:00.0")->quarantined);
        assert_string_equal(fx_device(fx, D3)->sys.driver, "e1000e");
        sd_event_unref(event);
}

/* Take @address out of the fake tree, as a removal does (its group's link too). */
static void fx_remove_pci(Fx *fx, const char *address, int group) {
        char rel[256], *p;

        snprintf(rel, sizeof(rel), "bus/pci/devices/%s", address);
        fake_unlink(fx->root, rel);
        snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices/%s", group, address);
        fake_unlink(fx->root, rel);
        snprintf(rel, sizeof(rel), "devices/pci0000:00/%s", address);
        p = fake_path(fx->root, rel);
        (void) nftw(p, fake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(p);
}

/*
 * A leased device removed during its lease (a remove and rescan, a link
 * that went down, a replug) had no reset of passthrud's: whatever comes
 * back at its address (passthru.ko's claim ran the kernel's own first
 * method, pm before bus) is quarantined until root's Reset.  It came back
 * available, leasable by the next VM.
 */
static void a_device_removed_during_its_lease_comes_back_quarantined(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;

        fx_remove_pci(fx, D1, 1);
        fake_pci_add(fx->root, &(FakePci) { .address = D1, .driver = "vfio-pci", .iommu_group = 1,
                                           .reset_method = "pm" });
        event = fx_load_looping(fx, MARKED_STATE);
        (void) fx_lease(fx, 1, "vm-a", getpid(), (const char *const[]) { D1, NULL });

        fx_remove_pci(fx, D1, 1);
        manager_refresh_device(fx->m, D1);
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_int_equal(fx->m->n_leases, 0);
        assert_true(strv_contains(fx->m->quarantine, D1));

        fake_pci_add(fx->root, &(FakePci) { .address = D1, .driver = "passthru", .iommu_group = 1,
                                           .reset_method = "pm" });
        manager_refresh_device(fx->m, D1);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_int_not_equal(fx_check(fx, D1, "vm-b"), 0);
        sd_event_unref(event);
}

/*
 * The same across a restart: the ledger names D1 in group 1, but it was
 * removed and added again while passthrud was away (now group 7): left out
 * of the return, and quarantined, since nothing of passthrud's reset it.
 */
static void a_ledger_device_back_in_another_group_is_quarantined(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        char text[512];
        pid_t child;

        child = gone_pid();
        fx_remove_pci(fx, D1, 1);
        fake_pci_add(fx->root, &(FakePci) { .address = D1, .driver = "passthru", .iommu_group = 7,
                                           .reset_method = "pm" });
        snprintf(text, sizeof(text), "[Lease 1]\nDevices=" D1 "\nVm=vm-a\nPid=%d\nStartTime=1\nUid=0\n", (int) child);
        fake_write(fx->root, "run/passthru/leases", text);
        event = fx_load_looping(fx, MARKED_STATE);
        assert_int_equal(lease_reconcile(fx->m), 0);
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_null(ledger_find_group(&fx->m->ledger, 1));
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        sd_event_unref(event);
}

/*
 * Seen foreign (another tool's VM on vfio-pci), it is quarantined on disk
 * at once: a restart of passthrud while that VM runs (an upgrade, a crash)
 * and the device back on passthru before the new daemon reads it
 * (passthru.ko claims it back without a reset of its own) still finds it
 * quarantined.  It came back available.
 */
static void a_device_seen_foreign_stays_quarantined_across_a_restart(void **state) {
        Fx *fx = *state;

        fx_load(fx, MARKED_STATE);
        fake_bind(fx->root, D1, "vfio-pci");
        manager_refresh_device(fx->m, D1);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_FOREIGN);
        assert_true(strv_contains(fx->m->quarantine, D1));
        manager_free(fx->m);
        fx->m = NULL;
        fake_bind(fx->root, D1, "passthru");
        fx_load(fx, NULL);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_QUARANTINED);
        assert_refused(fx, fx_check(fx, D1, "vm-b"), PT_ERROR_QUARANTINED, D1, NULL);
}

/*
 * A member whose unbind from vfio-pci fails (here a driver without an
 * unbind file) is still bound, and maybe still open: it is neither reset
 * (what its holder did after would go to the next owner) nor bound, but
 * quarantined.  It had been reset under its holder, and a driver that
 * cannot be unbound was taken for a removed device (neither reset nor
 * quarantined).
 */
static void a_member_that_cannot_be_unbound_is_quarantined_unreset(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        _cleanup_free_ char *driver = NULL;
        Lease *l = fx_d1_leased_on_vfio(fx, &event);

        fake_unlink(fx->root, "bus/pci/drivers/vfio-pci/unbind");
        fx_return(fx, event, l);
        assert_int_equal(fx->m->n_leases, 0);
        assert_true(fx_device(fx, D1)->quarantined);
        assert_true(strv_contains(fx->m->quarantine, D1));
        assert_int_equal(strv_length(fx_device(fx, D1)->reset_results), 0);     /* no method ran */
        driver = fake_bound_driver(fx->root, D1);
        assert_string_equal(driver, "vfio-pci");
        sd_event_unref(event);
}

/*
 * At a start, a ledger entry whose holder lives but whose member is not on
 * vfio-pci was on its way back (or its grant never finished) when the daemon
 * stopped: its holder has no fd of it.  It is returned, reset, not adopted
 * as a live lease (the device stayed out of service, shown leased, until
 * that holder exited).  One whose members are on vfio-pci is adopted.
 */
static void a_ledger_entry_on_its_way_back_is_returned_not_adopted(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        uint64_t start = 0;
        char text[512];
        pid_t child;

        child = live_pid();
        assert_int_equal(proc_start_time(child, &start), 0);
        snprintf(text, sizeof(text), "[Lease 1]\nDevices=" D1 "\nVm=vm-a\nPid=%d\nStartTime=%" PRIu64 "\nUid=0\n",
                 (int) child, start);
        for (int round = 0; round < 2; round++) {
                bool on_vfio = round == 1;

                fake_bind(fx->root, D1, on_vfio ? "vfio-pci" : "passthru");
                fake_write(fx->root, "run/passthru/leases", text);
                fx_load(fx, MARKED_STATE);
                assert_int_equal(sd_event_new(&event), 0);
                assert_int_equal(manager_attach_event(fx->m, event), 0);
                assert_int_equal(lease_reconcile(fx->m), 0);
                for (int i = 0; i < 100 && !on_vfio && fx->m->n_leases > 0; i++)
                        (void) sd_event_run(event, 100000);
                if (on_vfio) {
                        assert_int_equal(fx->m->n_leases, 1);
                        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_LEASED);
                } else {
                        assert_int_equal(fx->m->n_leases, 0);
                        assert_null(ledger_find_group(&fx->m->ledger, 1));
                        assert_true(strv_length(fx_device(fx, D1)->reset_results) > 0);
                }
                manager_free(fx->m);
                fx->m = NULL;
                sd_event_unref(event);
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
}

/*
 * A lease that ends while its holder lives (it called Release, or root
 * revoked it, a member left) may wait for that holder to let go of the group: the ledger
 * says the group is on its way back (Returning=), so that a restart goes on
 * with the return.  Before, a daemon restarted meanwhile found the members
 * on vfio-pci and took the group for a live lease of that holder again, its
 * Release forgotten.  A lease whose holder has exited writes nothing then.
 */
static void a_lease_ended_while_its_holder_lives_is_returning_in_the_ledger(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        _cleanup_free_ char *text = NULL;
        Lease *l;

        event = fx_load_looping(fx, MARKED_STATE);
        for (int round = 0; round < 3; round++) {
                bool exited = round == 1;
                const char *reason = round == 2 ? PT_LEASE_REASON_DEVICE_REMOVED : PT_LEASE_REASON_RELEASED;
                char line[64];

                l = fx_lease(fx, 1, "vm-a", getpid(), (const char *const[]) { D1, NULL });
                assert_int_equal(ledger_add(&fx->m->ledger, &(LedgerEntry) {
                        .group = 1, .devices = l->devices, .vm = l->vm, .pid = l->pid, .start_time = 1,
                        .uid = 0, .node_owner = LEDGER_NO_UID,
                }), 0);
                assert_int_equal(manager_save_ledger(fx->m), 0);
                l->holder_exited = exited;
                threads_refused = true;         /* the return waits: the ledger is seen in between */
                lease_end(l, reason);
                text = fake_read(fx->root, "run/passthru/leases");
                assert_non_null(text);
                snprintf(line, sizeof(line), "\nReturning=%s\n", reason);
                if (exited)
                        assert_null(strstr(text, "Returning="));
                else
                        assert_non_null(strstr(text, line));
                text = mfree(text);
                threads_refused = false;
                for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                        (void) sd_event_run(event, 100000);
                assert_int_equal(fx->m->n_leases, 0);
                text = fake_read(fx->root, "run/passthru/leases");
                assert_non_null(text);
                assert_null(strstr(text, "[Lease 1]"));
                text = mfree(text);
                fake_bind(fx->root, D1, "passthru");
        }
        sd_event_unref(event);
}

/*
 * At a start, a ledger entry on its way back (Returning=) whose holder
 * lives and whose member is on vfio-pci (the holder keeps the group open
 * past its Release) goes on with its return: releasing, not a live lease,
 * the holder pinned for root's revoke; and once back it is out of the
 * ledger.
 */
static void a_ledger_entry_returning_goes_on_with_its_return_after_a_restart(void **state) {
        Fx *fx = *state;
        sd_event *event = NULL;
        uint64_t start = 0;
        pid_t child;
        Lease *l;

        child = live_pid();
        assert_int_equal(proc_start_time(child, &start), 0);
        l = fx_restart_returning(fx, &event, child, start, "released");
        assert_int_equal(l->state, LEASE_RELEASING);
        assert_string_equal(l->reason, PT_LEASE_REASON_RELEASED);
        assert_true(l->pidfd >= 0);
        assert_int_equal(device_state(fx_device(fx, D1)), DEVICE_RELEASING);
        threads_refused = false;
        for (int i = 0; i < 100 && fx->m->n_leases > 0; i++)
                (void) sd_event_run(event, 100000);
        assert_int_equal(fx->m->n_leases, 0);
        assert_null(ledger_find_group(&fx->m->ledger, 1));
        assert_true(strv_length(fx_device(fx, D1)->reset_results) > 0);
        sd_event_unref(event);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
        const struct CMUnitTest tests[] = {
                T(check_passes_for_marked_device_on_stub),
                T(ledger_is_written_in_halves_by_a_worker_or_without_one),
                T(a_return_that_cannot_start_is_tried_again),
                T(a_member_unknown_at_the_return_comes_back_quarantined),
                T(a_hand_written_quarantine_list_quarantines_what_it_names),
                T(a_quarantine_list_with_crlf_line_ends_is_read),
                T(a_quarantine_list_with_a_word_not_an_address_fails_closed),
                T(a_quarantine_list_with_a_nul_byte_fails_closed),
                T(an_unreadable_quarantine_list_fails_closed),
                T(a_quarantine_the_list_cannot_take_holds_and_waits_for_the_ledger),
                T(a_quarantine_the_list_cannot_take_is_written_when_it_can_be),
                T(a_runtime_directory_removed_is_made_again),
                T(a_ledger_naming_a_host_device_leaves_it_alone),
                T(a_device_removed_during_its_lease_comes_back_quarantined),
                T(a_ledger_device_back_in_another_group_is_quarantined),
                T(a_device_seen_foreign_stays_quarantined_across_a_restart),
                T(a_member_that_cannot_be_unbound_is_quarantined_unreset),
                T(a_return_that_holds_the_node_unbinds_in_its_thread),
                T(a_return_without_the_node_unbinds_from_a_child),
                T(a_pf_with_vfs_unbinds_from_a_child_though_the_node_is_held),
                T(a_staged_return_resets_on_vfio_and_keeps_the_node),
                T(a_group_of_two_is_staged_whole),
                T(an_unstaged_return_keeps_no_node),
                T(a_staged_return_whose_reset_fails_is_not_staged),
                T(a_node_open_to_a_group_is_not_staged),
                T(a_pf_with_vfs_is_not_staged),
                T(a_grant_of_a_staged_group_hands_over_its_node),
                T(a_failed_grant_of_a_staged_group_stages_it_again),
                T(a_stage_whose_group_was_made_anew_ends_quarantined),
                T(a_grant_of_a_group_grown_since_its_stage_ends_the_stage),
                T(a_staged_member_moved_away_ends_the_stage),
                T(an_unstage_leaves_a_pf_grown_vfs_quarantined_without_waiting),
                T(a_staged_member_removed_ends_the_stage_unquarantined),
                T(a_queued_event_read_by_the_check_ends_a_dead_stage),
                T(a_device_removed_before_its_event_is_handled_is_named),
                T(no_group_is_staged_in_maintenance_mode),
                T(a_quarantine_ends_the_stage_unbinding_with_the_node_held),
                T(a_ledger_entry_on_its_way_back_is_returned_not_adopted),
                T(a_lease_ended_while_its_holder_lives_is_returning_in_the_ledger),
                T(a_ledger_entry_returning_goes_on_with_its_return_after_a_restart),
                T(a_lease_revoked_in_its_grace_period_is_revoked_again_after_a_restart),
                T(a_released_lease_root_revoked_is_revoked_again_after_a_restart),
                T(a_ledger_entry_revoked_whose_holder_is_gone_goes_on_with_its_return),
                T(check_passes_for_group_with_bridge_on_pcieport),
                T(unmarked_device_is_not_passthrough),
                T(unmarked_device_on_stub_is_not_passthrough),
                T(marked_device_on_host_driver_is_not_passthrough),
                T(device_with_mismatched_ids_is_not_passthrough),
                T(quarantined_device_is_quarantined),
                T(no_iommu_is_iommu_unavailable),
                T(device_without_iommu_group_is_iommu_unavailable),
                T(unsafe_interrupts_are_iommu_unavailable),
                T(unsafe_interrupts_set_after_a_grant_check_refuses_the_next),
                T(no_interrupt_remapping_is_iommu_unavailable),
                T(allow_unsafe_interrupts_accepts_both_interrupt_risks),
                T(allow_unsafe_interrupts_does_not_accept_iommu_off),
                T(maintenance_mode_is_refused),
                T(vm_not_among_assignments_is_not_assigned),
                T(vm_among_assignments_passes),
                T(no_assignments_admit_any_vm),
                T(max_devices_per_vm_counts_group_endpoints_not_bridges),
                T(max_devices_per_vm_counts_devices_already_leased_by_that_vm),
                T(max_active_devices_counts_every_vms_leases),
                T(member_on_host_driver_is_group_not_viable_naming_it),
                T(member_bound_to_a_host_driver_without_an_event_is_seen),
                T(group_not_viable_names_the_first_culprit_and_its_driver),
                T(leased_member_is_device_busy_naming_vm_and_pid),
                T(queued_device_is_read_once_and_a_leased_one_never),
                T(leased_group_is_refused_without_reading_its_members),
                T(releasing_device_is_device_busy_before_maintenance_mode),
                T(quarantined_member_refuses_the_group_naming_it),
                T(device_moved_to_vfio_behind_the_daemons_back_is_foreign),
                T(a_long_bad_address_is_quoted_cut_whole),
                T(a_move_to_vfio_whose_event_is_not_handled_yet_is_refused),
                T(foreign_device_back_on_passthru_is_quarantined),
                T(member_on_vfio_without_a_lease_is_device_busy_naming_it),
                T(device_or_member_being_reset_is_device_busy),
                T(device_being_marked_is_device_busy),
                T(vf_of_a_pf_changing_its_vf_count_is_device_busy),
                T(not_passthrough_wins_over_iommu_off),
                T(quarantined_wins_over_iommu_off),
                T(iommu_unavailable_wins_over_maintenance_mode),
                T(maintenance_mode_wins_over_not_assigned),
                T(not_assigned_wins_over_limit_exceeded),
                T(limit_exceeded_wins_over_group_not_viable),
                T(memory_above_the_cap_is_a_limit_in_its_place),
                T(memlock_is_the_holders_across_its_leases),
                T(group_not_viable_wins_over_device_busy),
                T(lookup_finds_device_by_short_and_long_address),
                T(lookup_of_malformed_address_is_invalid_args),
                T(lookup_of_absent_device_is_no_such_device),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
