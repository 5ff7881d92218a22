/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV in passthrud (daemon/sriov.c and SetNumVFs): a manager on a fake
 * sysfs with a PF (fake_sriov()) serves a peer-to-peer bus, and root's
 * calls go through the daemon's own vtable.  passthru.ko is not there, so
 * only what needs no HIDE is driven here (VF count 0, refusals); the
 * sriov VM suite drives the rest.
 */
#include "fake-manager.h"
#include "fake-sysfs.h"
#include "fake-bus.h"

#include <fcntl.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "device.h"
#include "lease.h"
#include "fileio.h"
#include "macro.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-names.h"
#include "sriov.h"
#include "stage.h"
#include "state.h"
#include "strv.h"

#define PF "0000:06:00.0"
#define VF0 "0000:06:10.0"
#define VF1 "0000:06:10.2"
#define PF_DIR "devices/pci0000:00/" PF

typedef struct Fx {
        char *root;
        FakeManagerPaths paths;
        Manager *m;
        sd_event *event;
        sd_bus *server, *client;
} Fx;

/* A tree with no devices yet, and the manager's paths in it; fx_start() makes the manager.  One test at a time. */
static Fx fx_;

static int fx_setup(void **state) {
        fx_ = (Fx) { .root = fake_sysfs_new() };
        fake_manager_paths(fx_.root, &fx_.paths);
        *state = &fx_;
        return 0;
}

/* The manager, from the tree as the test left it and @state_text as its state file. */
static void fx_start(Fx *fx, const char *state_text) {
        fake_write(fx->root, "var/lib/passthru/state", state_text);
        assert_int_equal(manager_new(&fx->paths.paths, &fx->m), 0);
        assert_int_equal(manager_load(fx->m), 0);
        assert_int_equal(sd_event_new(&fx->event), 0);
        assert_int_equal(manager_attach_event(fx->m, fx->event), 0);
        fake_bus_pair(&fx->server, &fx->client);
        assert_int_equal(manager_bus_publish(fx->m, fx->server), 0);
}

static int fx_teardown(void **state) {
        Fx *fx = *state;

        /* The manager holds the server (m->bus): manager_free() closes it. */
        if (fx->m) {
                sd_bus_close_unref(fx->client);
                sd_bus_unref(fx->server);
                manager_free(fx->m);
                sd_event_unref(fx->event);
        }
        fake_manager_paths_free(&fx->paths);
        fake_sysfs_free(fx->root);
        return 0;
}

/* Call @member(@types, ...) on the manager; NULL when it succeeded, else "Error.Name: message" (free() it). */
static char *fx_call(Fx *fx, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        const sd_bus_error *e;
        va_list ap;
        char *s;

        assert_int_equal(sd_bus_message_new_method_call(fx->client, &call, PT_BUS_NAME, PT_MANAGER_PATH,
                                                        PT_MANAGER_INTERFACE, member), 0);
        va_start(ap, types);
        assert_true(sd_bus_message_appendv(call, types, ap) >= 0);
        va_end(ap);
        reply = fake_bus_send(fx->client, fx->event, call);
        if (!sd_bus_message_is_method_error(reply, NULL))
                return NULL;
        e = sd_bus_message_get_error(reply);
        assert_true(asprintf(&s, "%s: %s", e->name, e->message) >= 0);
        return s;
}

static char *state_file(Fx *fx) {
        char *text = fake_read(fx->root, "var/lib/passthru/state");

        assert_non_null(text);
        return text;
}

/*
 * A PF's sriov_numvfs is shown under its device lock, which a write of it
 * (SetNumVFs' worker, or root's by hand) and an unbind of the PF's driver
 * hold while they remove VFs, until a leased VF's VMM lets go: the loop
 * never reads it.  The count is the PF's virtfnN links (a file that says
 * otherwise is not what was read), and it follows them.  A PF whose count
 * SetNumVFs' worker is writing is refused by another SetNumVFs and by Reset.
 */
static void a_pf_whose_count_is_being_written_is_not_read_on_the_loop(void **state) {
        Fx *fx = *state;
        Device *pf;
        char *err;

        fake_sriov(fx->root, 7, 2);
        fake_write(fx->root, PF_DIR "/sriov_numvfs", "5\n");
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " PF "]\nNumVFs=2\n");
        pf = manager_find_device(fx->m, PF);
        assert_non_null(pf);
        assert_int_equal(pf->sys.num_vfs, 2);

        pf->sriov_busy = true;
        err = fx_call(fx, "SetNumVFs", "su", PF, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, PT_ERROR_DEVICE_BUSY));
        assert_non_null(strstr(err, "being changed"));
        free(err);
        err = fx_call(fx, "Reset", "s", PF);
        assert_non_null(err);
        free(err);
        pf->sriov_busy = false;

        /* VF 1 removed (by root's write, say): the count follows the links. */
        fake_unlink(fx->root, PF_DIR "/virtfn1");
        manager_refresh_device(fx->m, PF);
        assert_int_equal(pf->sys.num_vfs, 1);
        assert_int_equal(strv_length(pf->sys.virtfns), 1);
}

/*
 * The same lock is held by a PF's return while its holder keeps a device
 * fd (vfio-pci's unbind waits for it): Reset and SetNumVFs of a leased or
 * releasing PF refuse it without reading it (a changed file says whether it
 * was read), so that the loop, and root's Release, go on.  A PF being
 * reset (by root's Reset, in the worker) is not read by SetNumVFs either.
 */
static void a_leased_or_resetting_pf_is_not_read_by_reset_or_set_num_vfs(void **state) {
        Lease lease = { .state = LEASE_RELEASING, .vm = (char *) "vm1", .pid = 4242 };
        Fx *fx = *state;
        Device *pf;
        char *err;

        fake_sriov(fx->root, 7, 0);
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " PF "]\nPassthrough=yes\n");
        pf = manager_find_device(fx->m, PF);
        assert_non_null(pf);
        assert_int_equal(pf->sys.num_vfs, 0);
        lease.manager = fx->m;
        pf->lease = &lease;
        fake_write(fx->root, PF_DIR "/sriov_numvfs", "3\n");
        for (int i = 0; i < 2; i++) {
                err = fx_call(fx, "Reset", "s", PF);
                assert_non_null(err);
                assert_non_null(strstr(err, PT_ERROR_DEVICE_BUSY));
                free(err);
                err = fx_call(fx, "SetNumVFs", "su", PF, 0);
                assert_non_null(err);
                assert_non_null(strstr(err, PT_ERROR_DEVICE_BUSY));
                free(err);
                assert_int_equal(pf->sys.num_vfs, 0);
                lease.state = LEASE_ACTIVE;
        }
        pf->lease = NULL;

        pf->resetting = true;
        err = fx_call(fx, "SetNumVFs", "su", PF, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, PT_ERROR_DEVICE_BUSY));
        free(err);
        assert_int_equal(pf->sys.num_vfs, 0);
        pf->resetting = false;
}

/*
 * A SetNumVFs that fails changes nothing for the next start: the state
 * file and modprobe.d keep the count they had (the kernel refused the
 * write: its sriov_numvfs here a read-only file of /proc).
 */
static void a_failed_set_num_vfs_keeps_the_saved_count(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *text = NULL, *saved = NULL, *after = NULL, *modprobe = NULL, *err = NULL;
        unsigned now;

        if (read_full_file("/proc/sys/kernel/cap_last_cap", &text, NULL) < 0 || atoi(text) <= 0)
                skip();
        now = (unsigned) atoi(text);
        fake_sriov(fx->root, 0xff, 0);
        fake_symlink(fx->root, PF_DIR "/sriov_numvfs", "/proc/sys/kernel/cap_last_cap");
        /* As an earlier SetNumVFs(PF, now) left it. */
        assert_true(asprintf(&saved, "[Manager]\nMaintenanceMode=yes\n\n[Device " PF "]\nNumVFs=%u\n", now) >= 0);
        fx_start(fx, saved);

        err = fx_call(fx, "SetNumVFs", "su", PF, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, PF));
        after = state_file(fx);
        assert_non_null(strstr(after, "[Device " PF "]"));
        assert_non_null(strstr(after, strstr(saved, "NumVFs=")));
        assert_int_equal(state_find_device(&fx->m->state, PF)->num_vfs, now);
        modprobe = fake_read(fx->root, "etc/modprobe.d/passthru.conf");
        assert_non_null(modprobe);
        assert_non_null(strstr(modprobe, PF "/*"));
        assert_false(manager_find_device(fx->m, PF)->sriov_busy);
}

/* A PF without a driver cannot make VFs: the refusal says so, not the kernel's bare ENOENT, and nothing is saved. */
static void a_pf_without_a_driver_is_refused_naming_it(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *err = NULL;

        fake_sriov(fx->root, 7, 0);
        fake_bind(fx->root, PF, NULL);
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n");
        err = fx_call(fx, "SetNumVFs", "su", PF, 2);
        assert_non_null(err);
        assert_non_null(strstr(err, SD_BUS_ERROR_NOT_SUPPORTED));
        assert_non_null(strstr(err, "no driver bound"));
        assert_null(state_find_device(&fx->m->state, PF));
        /* 0 VFs it has already: nothing to write, nothing refused. */
        assert_null(fx_call(fx, "SetNumVFs", "su", PF, 0));
}

/*
 * An administrator's own rule for a PF's VFs on the kernel command line is
 * passthru.ko's from its load on: SetNumVFs(PF, 0) leaves it there (it
 * drops only the rule SetNumVFs gave).  Only that very rule counts, not
 * one for a single VF, nor another PF's.
 */
static void the_kernel_command_lines_rule_for_the_vfs_is_known_as_such(void **state) {
        Fx *fx = *state;

        fake_sriov(fx->root, 7, 2);
        fake_write(fx->root, "proc/cmdline", "ro passthru.hide=(6:0.0/*) quiet\n");
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n");
        assert_true(sriov_vf_rule_is_the_cmdlines(fx->m, PF));
        assert_false(sriov_vf_rule_is_the_cmdlines(fx->m, "0000:07:00.0"));
        fake_write(fx->root, "proc/cmdline", "passthru.hide=(01:00.0)(0000:06:00.0/*)\n");
        assert_true(sriov_vf_rule_is_the_cmdlines(fx->m, PF));
        fake_write(fx->root, "proc/cmdline", "passthru.hide=(6:0.0/1) passthru.ids=8086:10ca\n");
        assert_false(sriov_vf_rule_is_the_cmdlines(fx->m, PF));
        fake_write(fx->root, "proc/cmdline", "quiet\n");
        assert_false(sriov_vf_rule_is_the_cmdlines(fx->m, PF));
}

/*
 * Unhiding a VF that passthru.ko's (PF/N) hides is refused, as for any rule
 * passthrud did not add and cannot drop for good: the module's rule names
 * it, or the kernel command line's brings it back at the next boot.
 */
static void a_vf_hidden_by_its_pf_and_number_is_not_unhidden(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        fake_sriov(fx->root, 7, 2);
        fake_write(fx->root, "proc/cmdline", "ro passthru.hide=(6:0.0/1) quiet\n");
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " VF0 "]\nPassthrough=yes\n\n"
                     "[Device " VF1 "]\nPassthrough=yes\n");

        /* VF 1 by the kernel command line. */
        err = fx_call(fx, "SetPassthrough", "sba{sv}", VF1, 0, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, SD_BUS_ERROR_NOT_SUPPORTED));
        assert_non_null(strstr(err, "(0000:06:00.0/1)"));
        assert_true(state_find_device(&fx->m->state, VF1)->passthrough);
        /* By passthru.ko's rule, wherever it comes from. */
        snprintf(manager_find_device(fx->m, VF0)->module_rule, sizeof(manager_find_device(fx->m, VF0)->module_rule),
                 "(0000:06:00.0/0)");
        err2 = fx_call(fx, "SetPassthrough", "sba{sv}", VF0, 0, 0);
        assert_non_null(err2);
        assert_non_null(strstr(err2, "(0000:06:00.0/0)"));
        assert_true(state_find_device(&fx->m->state, VF0)->passthrough);
        /* VF 0 has no rule of the module's and the command line names VF 1: unhidden. */
        manager_find_device(fx->m, VF0)->module_rule[0] = '\0';
        assert_null(fx_call(fx, "SetPassthrough", "sba{sv}", VF0, 0, 0));
        assert_false(state_find_device(&fx->m->state, VF0)->passthrough);
}

/*
 * A VF that passthrud's own rule for its PF's VFs hides (SetNumVFs saved a
 * count for the PF) is not unmarked alone; the refusal says how to give the
 * VFs up (SetNumVFs PF 0), not to edit the kernel command line.  An
 * administrator's such rule, without a saved count, still sends them there.
 */
static void a_vf_under_set_num_vfs_rule_points_to_set_num_vfs(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *err = NULL, *err2 = NULL;
        Device *vf;

        fake_sriov(fx->root, 7, 2);
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " PF "]\nNumVFs=2\n\n"
                     "[Device " VF0 "]\nPassthrough=yes\n");
        vf = manager_find_device(fx->m, VF0);
        snprintf(vf->module_rule, sizeof(vf->module_rule), "(" PF "/*)");
        err = fx_call(fx, "SetPassthrough", "sba{sv}", VF0, 0, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, SD_BUS_ERROR_NOT_SUPPORTED));
        assert_non_null(strstr(err, "passthructl sriov " PF " 0"));
        assert_null(strstr(err, "reboot"));
        assert_true(state_find_device(&fx->m->state, VF0)->passthrough);
        /* Without the saved count, the rule is someone else's. */
        state_find_device(&fx->m->state, PF)->num_vfs = 0;
        snprintf(vf->module_rule, sizeof(vf->module_rule), "(" PF "/*)");
        err2 = fx_call(fx, "SetPassthrough", "sba{sv}", VF0, 0, 0);
        assert_non_null(err2);
        assert_non_null(strstr(err2, "reboot"));
}

/*
 * A VF that another tool's VM holds on vfio-pci (libvirt's managed='yes')
 * is in use as a leased one is: removing it would wait for that VM, so
 * the count is not changed and the refusal names it.
 */
static void a_vf_on_vfio_pci_without_a_lease_keeps_the_count(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *err = NULL, *numvfs = NULL;

        fake_sriov(fx->root, 7, 2);
        fake_bind(fx->root, VF1, "vfio-pci");
        fx_start(fx, "[Manager]\nMaintenanceMode=yes\n\n[Device " PF "]\nNumVFs=2\n");
        err = fx_call(fx, "SetNumVFs", "su", PF, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, PT_ERROR_DEVICE_BUSY));
        assert_non_null(strstr(err, VF1 " (on vfio-pci without a lease"));
        assert_null(strstr(err, VF0));
        assert_int_equal(state_find_device(&fx->m->state, PF)->num_vfs, 2);
        numvfs = fake_read(fx->root, PF_DIR "/sriov_numvfs");
        assert_string_equal(numvfs, "2\n");
}

/*
 * A PF with two VFs, the second on vfio-pci and staged, the daemon started
 * with @config; SetNumVFs to 0 is refused (its error returned) and leaves
 * the saved count and the kernel's at 2.
 */
static char *set_num_vfs_with_a_staged_vf(Fx *fx, const char *config) {
        _cleanup_free_ char *numvfs = NULL;
        char *err;
        Device *vf;

        fake_sriov(fx->root, 7, 2);
        fake_bind(fx->root, VF1, "vfio-pci");
        fx_start(fx, config);
        vf = manager_find_device(fx->m, VF1);
        assert_non_null(vf);
        assert_int_equal(stage_new(fx->m, vf->sys.iommu_group, (char *[]) { (char *) VF1, NULL },
                                   open("/dev/null", O_RDWR | O_CLOEXEC)),
                         0);
        err = fx_call(fx, "SetNumVFs", "su", PF, 0);
        assert_non_null(err);
        assert_int_equal(state_find_device(&fx->m->state, PF)->num_vfs, 2);
        numvfs = fake_read(fx->root, PF_DIR "/sriov_numvfs");
        assert_string_equal(numvfs, "2\n");
        assert_non_null(vf->stage);
        return err;
}

/*
 * A staged VF is idle, passthrud's own (its node held for the next grant):
 * not another tool's VM.  Outside maintenance mode the count is refused
 * for the mode, as for a PF without VFs on vfio-pci, and nothing changes.
 */
static void a_staged_vf_is_not_taken_for_another_tools(void **state) {
        _cleanup_free_ char *err = set_num_vfs_with_a_staged_vf(*state, "[Device " PF "]\nNumVFs=2\n");

        assert_non_null(strstr(err, PT_ERROR_NOT_IN_MAINTENANCE));
        assert_null(strstr(err, "another tool"));
}

/*
 * In maintenance mode no stage should be left (its entry unstages all);
 * one that is anyway is named and refused: nothing writes the count
 * under a node passthrud holds.
 */
static void a_staged_vf_in_maintenance_mode_keeps_the_count(void **state) {
        _cleanup_free_ char *err = set_num_vfs_with_a_staged_vf(
                *state, "[Manager]\nMaintenanceMode=yes\n\n[Device " PF "]\nNumVFs=2\n");

        assert_non_null(strstr(err, PT_ERROR_DEVICE_BUSY));
        assert_non_null(strstr(err, VF1 " (staged by passthrud"));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
        const struct CMUnitTest tests[] = {
                T(a_pf_whose_count_is_being_written_is_not_read_on_the_loop),
                T(a_leased_or_resetting_pf_is_not_read_by_reset_or_set_num_vfs),
                T(a_failed_set_num_vfs_keeps_the_saved_count),
                T(a_pf_without_a_driver_is_refused_naming_it),
                T(a_vf_hidden_by_its_pf_and_number_is_not_unhidden),
                T(the_kernel_command_lines_rule_for_the_vfs_is_known_as_such),
                T(a_vf_under_set_num_vfs_rule_points_to_set_num_vfs),
                T(a_vf_on_vfio_pci_without_a_lease_keeps_the_count),
                T(a_staged_vf_is_not_taken_for_another_tools),
                T(a_staged_vf_in_maintenance_mode_keeps_the_count),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
