/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "device-dbus.h"
#include "faultpoint.h"
#include "holders.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-names.h"
#include "stage.h"
#include "strv.h"
#include "worker.h"

#define UID_NONE ((uid_t) -1)

/*
 * A grant's pass over IOMMU group @group: the members and endpoints as the
 * group cache keeps them (a member comes or goes only with an event that
 * invalidates it), each member's driver read now, but for a member under a
 * lease: leased, it is on vfio-pci until its group is closed; on its way
 * back, on no driver or on passthru, pinned by driver_override all along.
 * No host driver can hold it, so the pass does not read it, and a refused
 * caller of a leased group costs no sysfs read.  1 viable, 0 not (the
 * first culprit and its driver in *ret_culprit and *ret_culprit_driver),
 * or -errno; the endpoints in *ret_endpoints either way.  A member that
 * passthrud takes for available on passthru but finds on vfio-pci goes to
 * *ret_moved (the first such; the caller's to free): another tool moved it
 * there, its event not handled yet, and its user may have had it (it is
 * foreign, and rule 7 refuses it: owed to nobody without a reset).
 */
static int group_scan(Manager *m, int group, char ***ret_endpoints, char **ret_culprit, char **ret_culprit_driver,
                      char **ret_moved) {
        _cleanup_strv_free_ char **endpoints = NULL;
        _cleanup_free_ char *culprit = NULL, *culprit_driver = NULL;
        const Group *g = manager_group(m, group);

        if (!g)
                return -ENOENT;
        endpoints = strv_copy(g->endpoints);
        if (!endpoints)
                return -ENOMEM;
        for (char **i = g->members; *i; i++) {
                _cleanup_free_ char *driver = NULL;
                const Device *member = manager_find_device(m, *i);
                int r;

                if (member && member->lease)
                        continue;
                r = sysfs_pci_driver(m->sysfs_root, *i, &driver);
                if (r == -ENODEV) {
                        (void) strv_remove(endpoints, *i);      /* left under us: its event follows */
                        continue;
                }
                if (r < 0)
                        return r;
                if (member && !member->stage && !member->resetting && !member->configuring &&
                    device_state(member) == DEVICE_AVAILABLE && driver && strcmp(driver, PT_VFIO_DRIVER) == 0) {
                        if (!*ret_moved && !(*ret_moved = strdup(*i)))
                                return -ENOMEM;
                        continue;
                }
                if (culprit || pci_driver_keeps_group_viable(driver))
                        continue;
                culprit = strdup(*i);
                if (!culprit)
                        return -ENOMEM;
                culprit_driver = TAKE_PTR(driver);
        }
        *ret_endpoints = TAKE_PTR(endpoints);
        *ret_culprit = TAKE_PTR(culprit);
        *ret_culprit_driver = TAKE_PTR(culprit_driver);
        return *ret_culprit ? 0 : 1;
}

int lease_check(Manager *m, Device *d, const char *vm, uint64_t memory_bytes, char ***ret_endpoints,
                sd_bus_error *error) {
        _cleanup_free_ char *culprit = NULL, *culprit_driver = NULL, *moved = NULL;
        _cleanup_strv_free_ char **endpoints = NULL;
        bool flag = false;
        char **assigned;
        unsigned n;
        int viable, r;

        assert(m);
        assert(d);
        assert(vm);

        /* What udev said and the daemon has not handled yet counts (manager_refresh_queued()). */
        r = manager_refresh_queued(m, d);
        if (r == -ENODEV)
                return sd_bus_error_setf(error, PT_ERROR_NO_SUCH_DEVICE, "%s has left the bus.", d->address);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read %s: %m", d->address);

        /* 1. The device is marked and claimed. */
        switch (device_state(d)) {
        case DEVICE_HOST:
                return sd_bus_error_setf(error, PT_ERROR_NOT_PASSTHROUGH,
                                         "%s is not marked for passthrough: mark it with SetPassthrough in maintenance mode.",
                                         d->address);
        case DEVICE_PENDING_REBOOT:
                return sd_bus_error_setf(error, PT_ERROR_NOT_PASSTHROUGH,
                                         "%s is marked for passthrough, but driver '%s' holds it until the next boot.",
                                         d->address, d->sys.driver ?: "none");
        case DEVICE_MISMATCH:
                return sd_bus_error_setf(error, PT_ERROR_NOT_PASSTHROUGH,
                                         "%s has other ids (%04x:%04x) than its passthru rule pins.",
                                         d->address, d->sys.vendor, d->sys.device);
        case DEVICE_FOREIGN:
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is on vfio-pci without a lease: another tool moved it there behind "
                                         "passthrud's back ('passthructl check' says who holds it).",
                                         d->address);
        case DEVICE_RELEASING:
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is on its way back from VM '%s' (releasing): it is reset and "
                                         "available again in a moment.",
                                         d->address, d->lease->vm);
        case DEVICE_QUARANTINED:
                return sd_bus_error_setf(error, PT_ERROR_QUARANTINED,
                                         "%s came back from a VM without a reset trusted to clear its state "
                                         "('passthructl show %s' says what each method did); "
                                         "root must clear it with Reset.",
                                         d->address, d->address);
        default:
                break;
        }

        if (d->resetting)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is being reset by root: ask again when the reset is done.", d->address);
        if (d->configuring)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is being marked or unmarked by root: ask again when that is done.",
                                         d->address);
        if (d->sys.physfn[0]) {
                const Device *pf = manager_find_device(m, d->sys.physfn);

                /* SetNumVFs' worker writes sriov_numvfs (0, then N): this VF may be on its way out. */
                if (pf && pf->sriov_busy)
                        return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                                 "%s is a VF of %s, whose VF count is being changed: ask again when "
                                                 "it is done.", d->address, pf->address);
        }

        /* 2. The IOMMU is on and interrupts are remapped (both fixed at boot). */
        if (!m->iommu_enabled || d->sys.iommu_group < 0)
                return sd_bus_error_set(error, PT_ERROR_IOMMU_UNAVAILABLE,
                                        "The IOMMU is off: boot with intel_iommu=on (Intel VT-d); on AMD, enable "
                                        "the IOMMU in the firmware and do not boot with amd_iommu=off (AMD-Vi is on by default).");
        if (!m->config.allow_unsafe_interrupts) {
                /* Unreadable counts as set: refuse rather than guess. */
                if (sysfs_vfio_unsafe_interrupts(m->sysfs_root, &m->unsafe_interrupts_fd, &flag) < 0 || flag)
                        return sd_bus_error_set(error, PT_ERROR_IOMMU_UNAVAILABLE,
                                                "vfio_iommu_type1 allow_unsafe_interrupts is set: a VM could forge interrupts. "
                                                "Unset it, or accept the risk with AllowUnsafeInterrupts=yes.");
                if (!m->interrupt_remapping)
                        return sd_bus_error_set(error, PT_ERROR_IOMMU_UNAVAILABLE,
                                                "Interrupt remapping is not in force: a VM could forge interrupts. "
                                                "Enable it in firmware, or accept the risk with AllowUnsafeInterrupts=yes.");
        }

        /* 3. Not in maintenance mode, nor on its way there. */
        if (m->state.maintenance)
                return sd_bus_error_set(error, PT_ERROR_MAINTENANCE_MODE,
                                        "The host is in maintenance mode: no device is leased until ExitMaintenanceMode.");
        if (m->maintenance_asked)
                return sd_bus_error_set(error, PT_ERROR_MAINTENANCE_MODE,
                                        "Root asked for maintenance mode: no device is leased until the leases "
                                        "still active have ended and it is entered, or until ExitMaintenanceMode.");

        /* 4. The VM is assigned, when the device has assignments. */
        assigned = device_assignments(d);
        if (assigned && assigned[0] && !strv_contains(assigned, vm))
                return sd_bus_error_setf(error, PT_ERROR_NOT_ASSIGNED,
                                         "%s is not assigned to VM '%s'.", d->address, vm);

        /* 5. The limits.  One pass over the group serves 5 to 7. */
        viable = group_scan(m, d->sys.iommu_group, &endpoints, &culprit, &culprit_driver, &moved);
        if (viable < 0)
                return sd_bus_error_set_errnof(error, viable, "Cannot read IOMMU group %d: %m", d->sys.iommu_group);
        n = strv_length(endpoints);
        if (m->config.max_devices_per_vm > 0 &&
            manager_leased_devices(m, vm) + n > m->config.max_devices_per_vm)
                return sd_bus_error_setf(error, PT_ERROR_LIMIT_EXCEEDED,
                                         "VM '%s' would hold %u devices, more than MaxDevicesPerVm=%u.",
                                         vm, manager_leased_devices(m, vm) + n, m->config.max_devices_per_vm);
        if (m->config.max_active_devices > 0 &&
            manager_leased_devices(m, NULL) + n > m->config.max_active_devices)
                return sd_bus_error_setf(error, PT_ERROR_LIMIT_EXCEEDED,
                                         "%u devices would be leased, more than MaxActiveDevices=%u.",
                                         manager_leased_devices(m, NULL) + n, m->config.max_active_devices);
        /* No MemoryBytes, no cap to work out (the default asks the kernel for the host's memory). */
        if (memory_bytes > 0 && memory_bytes > config_max_memory_bytes(&m->config))
                return sd_bus_error_setf(error, PT_ERROR_LIMIT_EXCEEDED,
                                         "MemoryBytes=%" PRIu64 " is above the cap of %" PRIu64 " bytes "
                                         "(MaxMemoryBytes= in %s; default: the host's physical memory).",
                                         memory_bytes, config_max_memory_bytes(&m->config), m->paths.config_file);

        /* 6. Every member of the group can go to VFIO. */
        if (viable == 0 && culprit && strcmp(culprit, d->sys.physfn) == 0)
                return sd_bus_error_setf(error, PT_ERROR_GROUP_NOT_VIABLE,
                                         "IOMMU group %d is not viable: %s, the PF of this VF, is held by host "
                                         "driver '%s' (the PF and its VFs share a group: no ACS between them).",
                                         d->sys.iommu_group, culprit, culprit_driver ?: "?");
        if (viable == 0)
                return sd_bus_error_setf(error, PT_ERROR_GROUP_NOT_VIABLE,
                                         "IOMMU group %d is not viable: %s is held by host driver '%s'.",
                                         d->sys.iommu_group, culprit ?: "a member", culprit_driver ?: "?");

        /*
         * 7. Nobody else holds the group, and every other member is
         * available: a quarantined, releasing or foreign member would reach
         * this VM without the reset it is owed.  So would one the scan
         * found on vfio-pci before its event told passthrud (foreign).
         */
        if (moved && strcmp(moved, d->address) == 0)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is on vfio-pci without a lease: another tool moved it there behind "
                                         "passthrud's back ('passthructl check' says who holds it).", d->address);
        if (moved)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s shares IOMMU group %d with %s, which is on vfio-pci without a lease: "
                                         "another tool moved it there ('passthructl check' says who holds it).",
                                         d->address, d->sys.iommu_group, moved);
        for (char **i = endpoints; *i; i++) {
                Device *member = manager_find_device(m, *i);

                if (!member)
                        return sd_bus_error_setf(error, PT_ERROR_GROUP_NOT_VIABLE,
                                                 "%s shares IOMMU group %d with %s, which passthrud does not track.",
                                                 d->address, d->sys.iommu_group, *i);
                if (member->lease) {
                        if (member == d)
                                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                                         "%s is leased to VM '%s' (pid %u).", d->address,
                                                         member->lease->vm, (unsigned) member->lease->pid);
                        return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                                 "%s shares IOMMU group %d with %s, leased to VM '%s' (pid %u).",
                                                 d->address, d->sys.iommu_group, member->address,
                                                 member->lease->vm, (unsigned) member->lease->pid);
                }
                if (member == d)
                        continue;
                r = manager_refresh_queued(m, member);
                if (r == -ENODEV)
                        return sd_bus_error_setf(error, PT_ERROR_GROUP_NOT_VIABLE,
                                                 "%s shares IOMMU group %d with %s, which has just left the bus: "
                                                 "ask again once the group has settled.",
                                                 d->address, d->sys.iommu_group, member->address);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Cannot read %s, a member of IOMMU group %d: %m",
                                                       member->address, d->sys.iommu_group);
                if (member->resetting)
                        return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                                 "%s shares IOMMU group %d with %s, which root is resetting.",
                                                 d->address, d->sys.iommu_group, member->address);
                switch (device_state(member)) {
                case DEVICE_AVAILABLE:
                        break;
                case DEVICE_QUARANTINED:
                        return sd_bus_error_setf(error, PT_ERROR_QUARANTINED,
                                                 "%s shares IOMMU group %d with %s, which is quarantined: "
                                                 "root must clear it with Reset first.",
                                                 d->address, d->sys.iommu_group, member->address);
                case DEVICE_RELEASING:
                        return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                                 "%s shares IOMMU group %d with %s, which is on its way back "
                                                 "(releasing): it is not back yet.",
                                                 d->address, d->sys.iommu_group, member->address);
                case DEVICE_FOREIGN:
                        return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                                 "%s shares IOMMU group %d with %s, which is on vfio-pci without a lease: "
                                                 "another tool moved it there ('passthructl check' says who holds it).",
                                                 d->address, d->sys.iommu_group, member->address);
                default:
                        return sd_bus_error_setf(error, PT_ERROR_GROUP_NOT_VIABLE,
                                                 "%s shares IOMMU group %d with %s, which is %s (driver '%s'), not available.",
                                                 d->address, d->sys.iommu_group, member->address,
                                                 device_state_to_string(device_state(member)),
                                                 member->sys.driver ?: "none");
                }
        }
        if (ret_endpoints)
                *ret_endpoints = TAKE_PTR(endpoints);
        return 0;
}

/* The holder's exit before the requests and events waiting with it, as a finished job is (worker.h). */
#define LEASE_HOLDER_EXIT_PRIORITY WORKER_DONE_PRIORITY

static int on_holder_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static void lease_note_family(Lease *l);
static Holders *lease_holders(Lease *l);

static void lease_attach(Lease *l) {
        Manager *m = l->manager;

        for (char **i = l->devices; *i; i++) {
                Device *d = manager_find_device(m, *i);

                if (d)
                        d->lease = l;
        }
}

static int lease_watch(Lease *l) {
        int r;

        r = sd_event_add_io(l->manager->event, &l->pidfd_source, l->pidfd, EPOLLIN, on_holder_exit, l);
        if (r < 0)
                return r;
        /*
         * The holder's end starts the return before the loop turns to what
         * its exit also caused (its connection's hang-up, udev's events):
         * the device is back that much sooner.
         */
        (void) sd_event_source_set_priority(l->pidfd_source, LEASE_HOLDER_EXIT_PRIORITY);
        (void) sd_event_source_set_description(l->pidfd_source, "lease-holder");
        return 0;
}

static int lease_new(Manager *m, Lease **ret) {
        Lease *l;
        Lease **a;

        a = reallocarray(m->leases, m->n_leases + 1, sizeof(Lease *));
        if (!a)
                return -ENOMEM;
        m->leases = a;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->manager = m;
        l->pidfd = -EBADF;
        l->node_owner = UID_NONE;
        m->leases[m->n_leases++] = l;
        *ret = l;
        return 0;
}

/* The stuck check's walk, in a worker's thread; lease is NULL once the lease is gone. */
struct StuckJob {
        Lease *lease;
        Holders *holders;
        char *text;
};

Lease *lease_free(Lease *l) {
        Manager *m;

        if (!l)
                return NULL;
        m = l->manager;
        for (size_t i = 0; i < m->n_leases; i++)
                if (m->leases[i] == l) {
                        m->leases[i] = m->leases[--m->n_leases];
                        break;
                }
        for (char **i = l->devices; i && *i; i++) {
                Device *d = manager_find_device(m, *i);

                if (d && d->lease == l)
                        d->lease = NULL;
        }
        sd_event_source_disable_unref(l->pidfd_source);
        sd_event_source_disable_unref(l->grace_timer);
        sd_event_source_disable_unref(l->stuck_timer);
        sd_event_source_disable_unref(l->return_timer);
        if (l->stuck_job)
                l->stuck_job->lease = NULL;     /* the job frees itself when its walk is done */
        pid_set_done(&l->family);
        free(l->cgroup);
        free(l->stuck);
        if (l->pidfd >= 0)
                close(l->pidfd);
        free(l->device);
        strv_free(l->devices);
        free(l->vm);
        free(l->reset_results);
        free(l);
        return NULL;
}

/* After a lease left the ledger: a stale entry is only a lease the next start finds ended. */
static void save_ledger_or_warn(Manager *m) {
        int r = manager_save_ledger(m);

        if (r < 0)
                log_warning_errno(r, "Cannot update the lease ledger in %s, ignoring: %m", m->paths.runtime_dir);
}

/*
 * The lease into the books and onto disk: the entry now, the file written
 * by a worker's thread while the group moves (*ret_write, finished with
 * manager_save_ledger_finish()).  Not added: -errno, nothing to undo.
 */
static int ledger_record_start(Lease *l, bool beside, LedgerWrite **ret_write) {
        LedgerEntry e = {
                .group = l->group,
                .devices = l->devices,
                .vm = l->vm,
                .pid = l->pid,
                .start_time = l->start_time,
                .uid = l->uid,
                .node_owner = l->node_owner,
        };
        int r;

        r = ledger_add(&l->manager->ledger, &e);
        if (r < 0)
                return r;
        r = manager_save_ledger_start(l->manager, beside, ret_write);
        if (r < 0)
                ledger_remove(&l->manager->ledger, l->group);
        return r;
}

void lease_note_cgroup(Lease *l) {
        if (l && !l->cgroup && proc_cgroup(l->manager->paths.proc, l->pid, &l->cgroup) < 0)
                l->cgroup = NULL;
}

/* Put devices moved to vfio-pci back on passthru (nobody has the group open). */
static void rollback(Manager *m, char **moved) {
        for (char **i = moved; i && *i; i++) {
                int r = sysfs_bind_to(m->sysfs_root, *i, PT_STUB_DRIVER);
                if (r < 0)
                        log_error_errno(r, "Failed to move %s back to passthru: %m", *i);
        }
}

/* Is @o another live lease of @l's holder (the same process: pid and start time) whose limit passthrud raised? */
static bool memlock_sibling_of(const Lease *l, const Lease *o) {
        return o != l && o->memlock_raised && o->state != LEASE_RELEASING && o->pid == l->pid &&
               o->start_time == l->start_time;
}

static Lease *memlock_sibling(Lease *l) {
        Manager *m = l->manager;

        for (size_t i = 0; i < m->n_leases; i++)
                if (memlock_sibling_of(l, m->leases[i]))
                        return m->leases[i];
        return NULL;
}

/* @limit raised to at least @bytes. */
static struct rlimit memlock_at_least(struct rlimit limit, uint64_t bytes) {
        struct rlimit r;

        r.rlim_cur = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= bytes ? limit.rlim_cur : bytes;
        r.rlim_max = limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= r.rlim_cur ? limit.rlim_max : r.rlim_cur;
        return r;
}

void lease_raise_memlock(Lease *l, uint64_t bytes) {
        Lease *sibling = memlock_sibling(l);
        struct rlimit now, new;

        l->memory_bytes = bytes;
        if (prlimit(l->pid, RLIMIT_MEMLOCK, NULL, &now) < 0) {
                log_warning_errno(-errno, "Cannot read RLIMIT_MEMLOCK of pid %u, ignoring: %m", (unsigned) l->pid);
                return;
        }
        /* The holder's own limit: as it is now, or as it was before its first lease raised it. */
        l->old_memlock = sibling ? sibling->old_memlock : now;
        new = memlock_at_least(now, bytes);
        if (new.rlim_cur != now.rlim_cur || new.rlim_max != now.rlim_max) {
                if (prlimit(l->pid, RLIMIT_MEMLOCK, &new, NULL) < 0) {
                        log_warning_errno(-errno, "Cannot raise RLIMIT_MEMLOCK of pid %u, ignoring: %m",
                                          (unsigned) l->pid);
                        l->memlock_raised = !!sibling;
                        return;
                }
        } else if (!sibling)
                return;         /* high enough already, and not by passthrud */
        l->memlock_raised = true;
}

void lease_restore_memlock(Lease *l) {
        Manager *m = l->manager;
        struct rlimit limit;
        bool others = false;

        if (!l->memlock_raised || l->pidfd < 0)
                return;
        l->memlock_raised = false;
        if (pidfd_send_signal(l->pidfd, 0) < 0)
                return;         /* gone */
        /* Its other live leases keep what the largest of them asked for; the last one puts its own back. */
        limit = l->old_memlock;
        for (size_t i = 0; i < m->n_leases; i++)
                if (memlock_sibling_of(l, m->leases[i])) {
                        limit = memlock_at_least(limit, m->leases[i]->memory_bytes);
                        others = true;
                }
        if (prlimit(l->pid, RLIMIT_MEMLOCK, &limit, NULL) < 0 && errno != ESRCH)
                log_warning_errno(-errno, "Cannot %s RLIMIT_MEMLOCK of pid %u, ignoring: %m",
                                  others ? "lower" : "put back", (unsigned) l->pid);
}

/* 1 when VFIO calls the group behind @fd viable (every member on a VFIO driver or none), 0 when not. */
static int group_viable_by_vfio(int fd) {
        struct vfio_group_status status = { .argsz = sizeof(status) };

        if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
                return -errno;
        return !!(status.flags & VFIO_GROUP_FLAGS_VIABLE);
}

static void group_node(Manager *m, int group, char *buf, size_t size) {
        snprintf(buf, size, "%s/vfio/%d", m->paths.dev, group);
}

/*
 * The stage that holds exactly @endpoints (the group the grant moves), or
 * NULL.  A stage that holds only some of them (the group gained a member
 * since) ends first: its node would keep the grant's open out.
 */
static Stage *group_stage(Manager *m, char **endpoints) {
        for (char **i = endpoints; *i; i++) {
                Device *member = manager_find_device(m, *i);

                if (!member || !member->stage || stage_end_if_dead(member->stage))
                        continue;
                if (stage_covers(member, endpoints))
                        return member->stage;
                (void) stage_unstage(member->stage, "its group changed since");
        }
        return NULL;
}

int lease_acquire(Manager *m, Device *d, const char *vm, char **endpoints, pid_t pid, int pidfd_in,
                  uint64_t start_time, uid_t uid, const AcquireOptions *opts, Lease **ret, int *ret_fd,
                  sd_bus_error *error) {
        _cleanup_strv_free_ char **moved = calloc(1, sizeof(char *));
        _cleanup_close_ int pidfd = pidfd_in, fd = -EBADF;
        LedgerWrite *ledger_write = NULL;
        bool recorded = false, staged = false;
        Stage *stage;
        char node[PATH_MAX];
        Lease *l = NULL;
        int r;

        assert(m);
        assert(d);
        assert(vm);
        assert(opts);
        assert(ret);
        assert(ret_fd);

        if (!moved) {
                strv_free(endpoints);
                return -ENOMEM;
        }

        r = lease_new(m, &l);
        if (r < 0) {
                strv_free(endpoints);
                return sd_bus_error_set_errno(error, r);
        }
        l->devices = endpoints;
        l->group = d->sys.iommu_group;
        l->pid = pid;
        l->uid = uid;
        l->node_owner = opts->node_owner;
        l->device = strdup(d->address);
        l->vm = strdup(vm);
        if (!l->device || !l->vm) {
                r = sd_bus_error_set_errno(error, -ENOMEM);
                goto fail;
        }
        l->start_time = start_time;
        r = start_time > 0 ? 0 : proc_start_time(pid, &l->start_time);
        if (r < 0) {
                r = sd_bus_error_set_errnof(error, r, "The calling process %u is gone: %m", (unsigned) pid);
                goto fail;
        }
        FAULT_POINT("acquire-pinned");

        /*
         * A staged group: its node is held already, its members on
         * vfio-pci, reset at their return (stage.h).
         */
        stage = group_stage(m, l->devices);
        /* A stage that ended there may have quarantined a member (moved by another tool, or not moved back). */
        for (char **i = l->devices; *i; i++) {
                const Device *member = manager_find_device(m, *i);

                if (member && member->quarantined) {
                        r = sd_bus_error_setf(error, PT_ERROR_QUARANTINED,
                                              "%s was quarantined as its group's stage ended ('passthructl show "
                                              "%s' says why): root must clear it with Reset.", *i, *i);
                        goto fail;
                }
        }

        /*
         * In the ledger before the fd leaves the daemon: its file is
         * written meanwhile, while the group moves (the kernel's probes take
         * the loop's thread for milliseconds), and waited for below; for a
         * staged group, which has nothing to move, written now (a thread's
         * hand-off would cost more than it overlaps).
         */
        r = ledger_record_start(l, !stage, &ledger_write);
        if (r < 0) {
                r = sd_bus_error_set_errnof(error, r, "Cannot record the lease in %s: %m", m->paths.runtime_dir);
                goto fail;
        }
        recorded = true;
        if (stage) {
                fd = stage_take(stage);
                staged = true;
        }

        /* Move the group to vfio-pci. */
        for (char **i = l->devices; !staged && *i; i++) {
                Device *member = manager_find_device(m, *i);

                if (member && device_driver_is(member, PT_VFIO_DRIVER))
                        continue;
                r = sysfs_bind_to(m->sysfs_root, *i, PT_VFIO_DRIVER);
                if (r < 0) {
                        log_error_errno(r, "Failed to bind %s to vfio-pci: %m", *i);
                        /*
                         * Removed under the grant: a device that is not there, as for any call naming it.
                         * (The unbind's ENODEV also means a driver that changed under it: then it is there.)
                         */
                        _cleanup_free_ char *now = NULL;

                        if (r == -ENODEV && sysfs_pci_driver(m->sysfs_root, *i, &now) == -ENODEV)
                                r = sd_bus_error_setf(error, PT_ERROR_NO_SUCH_DEVICE,
                                                      "%s left the bus while it was being moved to vfio-pci.", *i);
                        else
                                r = sd_bus_error_set_errnof(error, r, "Failed to bind %s to vfio-pci: %m", *i);
                        goto fail_moved;
                }
                r = strv_extend(&moved, *i);
                if (r < 0) {
                        r = sd_bus_error_set_errno(error, r);
                        goto fail_moved;
                }
                FAULT_POINT("acquire-moved");
        }

        group_node(m, l->group, node, sizeof(node));
        if (!staged)
                fd = open(node, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                r = sd_bus_error_set_errnof(error, errno, "Cannot open %s: %m", node);
                goto fail_moved;
        }
        /* The kernel's word on the group, over what the scan saw: a host driver may have bound since. */
        r = group_viable_by_vfio(fd);
        if (r < 0) {
                r = sd_bus_error_set_errnof(error, r, "Cannot ask VFIO whether IOMMU group %d is viable: %m", l->group);
                goto fail_moved;
        }
        if (r == 0) {
                r = sd_bus_error_setf(error, PT_ERROR_GROUP_NOT_VIABLE,
                                      "IOMMU group %d is not viable: VFIO says a member is held by a host driver.",
                                      l->group);
                goto fail_moved;
        }
        /* The holder still there (a zombie is not)?  Before the node is handed to anyone. */
        if (!pidfd_running(pidfd)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "The calling process %u exited during the call.",
                                      (unsigned) pid);
                goto fail_moved;
        }
        /* On disk before the fd leaves the daemon. */
        r = manager_save_ledger_finish(TAKE_PTR(ledger_write));
        if (r < 0) {
                r = sd_bus_error_set_errnof(error, r, "Cannot record the lease in %s: %m", m->paths.runtime_dir);
                goto fail_moved;
        }
        FAULT_POINT("acquire-recorded");
        l->pidfd = TAKE_FD(pidfd);
        r = lease_watch(l);
        if (r < 0)
                r = sd_bus_error_set_errno(error, r);
        /*
         * The node last: until it is handed over only the daemon has the
         * group open, so the rollback's unbind cannot wait on the loop.
         */
        else if (l->node_owner != UID_NONE && fchown(fd, l->node_owner, (gid_t) -1) < 0)
                r = sd_bus_error_set_errnof(error, errno, "Cannot hand %s to uid %u: %m", node,
                                            (unsigned) l->node_owner);
        if (r < 0)
                goto fail_moved;

        /* Granted: only now is the caller's limit raised. */
        if (opts->memory_bytes > 0)
                lease_raise_memlock(l, opts->memory_bytes);
        lease_attach(l);
        *ret = l;
        *ret_fd = TAKE_FD(fd);
        return 0;

fail_moved:
        /* A stage taken is a stage again: its members are as they were, reset and held (if its node still is). */
        if (staged && fd >= 0) {
                if (stage_new(m, l->group, l->devices, TAKE_FD(fd)) < 0)
                        log_error("IOMMU group %d could not be staged again after a failed grant (out of memory): its "
                                  "members stay on vfio-pci, to be quarantined as foreign", l->group);
                else if (d->stage)
                        (void) stage_end_if_dead(d->stage);
        }
        fd = safe_close(fd);
        rollback(m, moved);
fail:
        /* The write waited for (it has the entry, or failed), then the entry taken out again. */
        if (ledger_write)
                (void) manager_save_ledger_finish(ledger_write);
        if (recorded) {
                ledger_remove(&m->ledger, l->group);
                save_ledger_or_warn(m);
        }
        lease_free(l);
        return r;
}

/* LeaseAcquired, the devices' new state, the journal. */
static void lease_announce(Lease *l) {
        Manager *m = l->manager;

        manager_send_lease_acquired(m, l);
        for (char **i = l->devices; *i; i++) {
                Device *d = manager_find_device(m, *i);

                if (d)
                        device_send_changed(m, d);
        }
        manager_send_changed(m, "ActiveLeases");
        log_lease("acquired", l->device, l->vm, (unsigned) l->pid, NULL);
}

static int on_announce(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        (void) s;
        /* lease_announce() frees nothing: the list stays as it is. */
        for (size_t i = 0; i < m->n_leases; i++)
                if (m->leases[i]->announce_pending) {
                        m->leases[i]->announce_pending = false;
                        lease_announce(m->leases[i]);
                }
        return 0;
}

void lease_announce_later(Lease *l) {
        Manager *m = l->manager;
        int r = 0;

        if (!m->announce_source && m->event) {
                r = sd_event_add_defer(m->event, &m->announce_source, on_announce, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(m->announce_source, SD_EVENT_PRIORITY_NORMAL + 1);
                if (r < 0)
                        m->announce_source = sd_event_source_disable_unref(m->announce_source);
        }
        if (!m->announce_source || sd_event_source_set_enabled(m->announce_source, SD_EVENT_ONESHOT) < 0) {
                lease_announce(l);      /* no loop, or no memory: now */
                return;
        }
        l->announce_pending = true;
}

/* A process that closes a device fd without exiting is noticed this much later at most. */
#define RETURN_RECHECK_USEC (1 * 1000000ULL)
/* How long a group held by no fd anyone shows (an exit closing its files: a device's close resets it) is waited for. */
#define RETURN_UNSEEN_USEC (10 * 1000000ULL)

/* The return trip, in a worker thread: may sleep until the group is closed. */
typedef struct ReturnJob {
        Lease *lease;
        char *sysfs_root;
        char **devices;
        ResetChain *chains;     /* per device: the reset chain, and what it did */
        int *results;           /* per device: 0, or why it is quarantined */
        int *resets;            /* per device: what its reset chain returned */
        int *unbinds;           /* per device: what its unbind from vfio-pci returned */
        Holders *openers;       /* who may still have a device open: waited for before the unbind */
        bool stage;             /* StageIdleGroups=yes: try to keep the group on vfio-pci (stage.h) */
        bool reset_done;        /* the chains ran on vfio-pci, the node held */
        int stage_fd;           /* the group's node, for its stage: every member was reset on vfio-pci */
} ReturnJob;

static void return_job_free(ReturnJob *job) {
        size_t n = strv_length(job->devices);

        for (size_t i = 0; job->chains && i < n; i++)
                reset_chain_done(&job->chains[i]);
        free(job->chains);
        strv_free(job->devices);
        free(job->results);
        free(job->resets);
        free(job->unbinds);
        free(job->sysfs_root);
        holders_free(job->openers);
        safe_close(job->stage_fd);
        free(job);
}

/* Member @i's reset chain, then its bus mastering cleared: what the chain returned. */
static int return_reset(ReturnJob *job, size_t i) {
        int r;

        /* Strongest first, until one trusted to clear the device's state works. */
        job->resets[i] = reset_chain_run(&job->chains[i], job->sysfs_root, job->devices[i], NULL, NULL);
        if (job->resets[i] == -ENODEV)
                return -ENODEV;
        r = sysfs_set_bus_master(job->sysfs_root, job->devices[i], false);
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "Cannot clear bus mastering of %s, ignoring: %m", job->devices[i]);
        return job->resets[i];
}

/*
 * With the group's node held and StageIdleGroups=yes: every member reset
 * where it is, on vfio-pci (sysfs' reset takes the device from its driver's
 * idle power state for the reset).  True when each one's chain worked: the
 * group stays there, staged.  False without a reset when the node or a
 * member cannot be staged (a member not on vfio-pci, or whose unbind could
 * wait beyond the group: a stage's end unbinds it on the loop); false after
 * the resets when one failed, and the return goes on without running them
 * again.
 */
static bool return_stage(ReturnJob *job, int node) {
        size_t n = strv_length(job->devices);
        struct stat st;
        bool all = true;

        /*
         * Only a node nobody but root could open, should passthrud die with
         * the stage: one whose owner the lease's end did not get back, or
         * that a udev rule opens to a group, is not kept.
         */
        if (fstat(node, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077) != 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *driver = NULL;

                if (sysfs_pci_driver(job->sysfs_root, job->devices[i], &driver) < 0 || !driver ||
                    strcmp(driver, PT_VFIO_DRIVER) != 0 ||
                    sysfs_unbind_waits_beyond_group(job->sysfs_root, job->devices[i]))
                        return false;
        }
        job->reset_done = true;
        for (size_t i = 0; i < n; i++) {
                job->results[i] = return_reset(job, i);
                if (job->results[i] < 0)
                        all = false;
        }
        return all;
}

static int return_run(void *userdata) {
        ReturnJob *job = userdata;
        size_t n = strv_length(job->devices);
        _cleanup_close_ int node = -EBADF;

        /*
         * Unbinding vfio-pci waits until every device fd is closed; and on
         * Linux 6.1, when the last one closes as its process exits, the
         * unbind's teardown of the group can race that exit's close of its
         * container and oops the kernel (vfio_fops_release() calls into the
         * IOMMU data the teardown frees).  So the unbind starts only once
         * no process the lease can name has a device fd any more.  When
         * the wait ends with the group's node open here (most returns: the
         * holder exited), nobody else can open the group while it stays
         * open, so no device fd of it can be made and vfio-pci's unbind of
         * a member without VFs or a device cdev cannot wait: it is written
         * from this thread.  A PF with VFs (whose unbind removes them, each
         * waiting for its own fds), a device with a cdev (its fds hold it
         * without the group) and what is not on vfio-pci by then go
         * through a child process, as every unbind did before (sysfs.h).
         * With StageIdleGroups=yes, a group whose node is held here is
         * reset on vfio-pci instead, and kept there with its node when
         * every member's reset worked (stage.h).
         */
        if (job->openers)
                node = holders_wait_openers(job->openers, RETURN_RECHECK_USEC, RETURN_UNSEEN_USEC);
        if (node >= 0 && job->stage && return_stage(job, node)) {
                FAULT_POINT("return-staged");
                job->stage_fd = TAKE_FD(node);
                return 0;
        }
        /* -ENODEV: the device is gone; -ENOENT: a driver that cannot be unbound (quarantined below). */
        for (size_t i = 0; i < n; i++) {
                int r = node >= 0 && !sysfs_unbind_waits_beyond_group(job->sysfs_root, job->devices[i]) ?
                        sysfs_unbind_from(job->sysfs_root, PT_VFIO_DRIVER, job->devices[i]) : -EBUSY;

                job->unbinds[i] = r >= 0 ? 0 : sysfs_unbind(job->sysfs_root, job->devices[i]);
        }
        node = safe_close(node);
        FAULT_POINT("return-unbound");
        for (size_t i = 0; i < n; i++) {
                int r;

                if (job->unbinds[i] == -ENODEV || (job->reset_done && job->results[i] == -ENODEV)) {
                        job->results[i] = -ENODEV;
                        continue;       /* removed */
                }
                if (job->unbinds[i] < 0) {
                        /*
                         * Still on vfio-pci, and maybe still open: a reset now
                         * would be undone by whatever its holder does next.
                         * Not reset, not bound: quarantined.
                         */
                        job->results[i] = job->unbinds[i];
                        if (!job->reset_done)
                                job->resets[i] = job->unbinds[i];
                        continue;
                }
                if (!job->reset_done) {
                        job->results[i] = return_reset(job, i);
                        if (job->results[i] == -ENODEV)
                                continue;
                }
                r = sysfs_bind_to(job->sysfs_root, job->devices[i], PT_STUB_DRIVER);
                if (r < 0 && job->results[i] >= 0)
                        job->results[i] = r;
        }
        return 0;
}

static void return_done(int result, void *userdata) {
        ReturnJob *job = userdata;
        Lease *l = job->lease;
        Manager *m = l->manager;
        size_t n = strv_length(job->devices);
        _cleanup_strv_free_ char **devices = strv_copy(l->devices);
        _cleanup_free_ char *vm = strdup(l->vm), *device = strdup(l->device);
        _cleanup_free_ bool *unknown = calloc(n ?: 1, sizeof(bool));
        bool kept_on_vfio;
        const char *reason;
        pid_t pid = l->pid;
        int group = l->group;

        (void) result;
        l->return_openers = NULL;
        /* On disk before anyone could see a device without its quarantine. */
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, job->devices[i]);

                if (job->results[i] == -ENODEV && strcmp(l->reason, PT_LEASE_REASON_PROCESS_EXITED) == 0)
                        l->reason = PT_LEASE_REASON_DEVICE_REMOVED;
                if (job->results[i] == -ENODEV) {
                        /*
                         * Gone during its lease or its return: no reset of ours ran.  What comes back at
                         * this address (a rescan, a link that came back) has had passthru.ko's claim reset
                         * at best, whichever method the kernel picks: quarantined by address until root's
                         * Reset, as a device the daemon did not know is.
                         */
                        (void) manager_quarantine_address(m, job->devices[i]);
                        continue;
                }
                if (!d) {
                        /* Not known, so no method was read and none ran: the device stays back. */
                        if (unknown)
                                unknown[i] = true;
                        /* Held even when the list cannot be written yet: the ledger's write below waits for it. */
                        (void) manager_quarantine_address(m, job->devices[i]);
                        continue;
                }
                if (device_note_reset(d, &job->chains[i], m->paths.config_file) < 0)
                        log_error("Out of memory: the reset results of %s are not recorded", d->address);
                if (job->results[i] < 0)
                        (void) manager_set_quarantined(m, d, true);
        }
        reason = l->reason;

        /*
         * Out of the ledger in memory now, and in its file right after the
         * devices are announced, in this same turn of the loop: no call is
         * answered in between, so whoever asks finds the lease gone from
         * both.  A daemon killed between the two finds at its restart the
         * entry of a holder that exited, and returns the group again: one
         * more reset, nothing lost.
         */
        lease_free(l);
        ledger_remove(&m->ledger, group);
        /* Every member reset on vfio-pci, the node held: staged for the next grant. */
        kept_on_vfio = job->stage_fd >= 0;
        if (job->stage_fd >= 0 && stage_new(m, group, job->devices, TAKE_FD(job->stage_fd)) < 0)
                /* Leased to nobody on vfio-pci: seen foreign at its refresh, and quarantined. */
                log_error("IOMMU group %d was reset, but could not be staged (out of memory): its members stay on "
                          "vfio-pci, to be quarantined as foreign", group);

        /*
         * Available first: a waiting VM goes on while the rest is told.
         * Every member the job reset and saw bound to passthru is noted so
         * before any is announced (each announcement tells its group's
         * siblings too), and re-read in full after; any other is re-read now.
         */
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, job->devices[i]);

                /* Out of memory leaves the driver as it was: re-read below. */
                if (d && job->results[i] >= 0 && !kept_on_vfio)
                        (void) device_note_driver(d, PT_STUB_DRIVER);
        }
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, job->devices[i]);

                if (d && job->results[i] >= 0 && (d->stage || (!kept_on_vfio && device_driver_is(d, PT_STUB_DRIVER)))) {
                        device_send_changed(m, d);
                        manager_refresh_later(m, d->address);
                } else
                        manager_refresh_device(m, job->devices[i]);
        }
        save_ledger_or_warn(m);

        /* Then the books: what each reset did, who held the group. */
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, job->devices[i]);
                _cleanup_free_ char *why = NULL;

                if (job->results[i] == -ENODEV || !d)
                        continue;
                if (unknown && unknown[i]) {
                        log_warning("%s is quarantined: passthrud did not know it when its lease ended, and did not "
                                    "reset it", d->address);
                        continue;
                }
                device_send_reset_changed(m, d);
                why = device_reset_explain(d, job->resets[i]);
                if (job->results[i] < 0) {
                        if (job->resets[i] < 0)
                                log_warning("%s is quarantined: %s", d->address, why ?: "its reset did not work");
                        else
                                log_warning_errno(job->results[i], "%s is quarantined: reset (%s), but not bound to "
                                                  PT_STUB_DRIVER ": %m", d->address, why ?: "");
                } else if (strv_length(d->reset_results) > 1)
                        log_notice("Reset %s, not with its first method: %s", d->address, why ?: "");
        }
        for (char **i = devices; i && *i; i++)
                manager_send_lease_released(m, *i, vm, reason);
        log_lease("released", device ?: "", vm ?: "", (unsigned) pid, reason);
        manager_send_changed(m, "ActiveLeases");
        return_job_free(job);
}

/* A return job that could not start is tried again this much later. */
#define RETURN_RETRY_USEC (1 * 1000000ULL)

static void lease_start_return(Lease *l);

static int on_return_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Lease *l = userdata;

        (void) s;
        (void) usec;
        l->return_timer = sd_event_source_disable_unref(l->return_timer);
        lease_start_return(l);
        return 0;
}

/*
 * The return job of @l's group, in a worker's thread.  A job that cannot be
 * made or started (no memory, no thread: a full TasksMax while other
 * returns wait on their holders) is tried again RETURN_RETRY_USEC later:
 * the group stays releasing, and refused, until its reset has run.
 */
static void lease_start_return(Lease *l) {
        Manager *m = l->manager;
        ReturnJob *job;
        size_t n;
        int r = -ENOMEM;

        n = strv_length(l->devices);
        job = calloc(1, sizeof(*job));
        if (!job)
                goto fail;
        job->lease = l;
        job->stage_fd = -EBADF;
        job->sysfs_root = strdup(m->sysfs_root);
        job->devices = strv_copy(l->devices);
        job->chains = calloc(n ?: 1, sizeof(ResetChain));
        job->results = calloc(n ?: 1, sizeof(int));
        job->resets = calloc(n ?: 1, sizeof(int));
        job->unbinds = calloc(n ?: 1, sizeof(int));
        /* Not in maintenance mode, nor on its way there: every idle device on passthru then. */
        job->stage = m->config.stage_idle_groups && !m->state.maintenance && !m->maintenance_asked;
        job->openers = lease_holders(l);
        if (!job->sysfs_root || !job->devices || !job->chains || !job->results || !job->resets || !job->unbinds ||
            !job->openers)
                goto fail;
        job->openers->killed = l->killed;
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, l->devices[i]);

                /* A device the daemon does not know: no methods, no reset, quarantine (and no stage). */
                if (!d)
                        job->stage = false;
                if (d && reset_chain_init(&job->chains[i], d->sys.reset_methods, &m->config, d->sys.vendor,
                                          d->sys.device) < 0)
                        goto fail;
        }
        r = worker_submit(m->worker, return_run, return_done, job);
        if (r < 0)
                goto fail;
        l->return_openers = job->openers;
        for (char **i = l->devices; *i; i++) {
                Device *d = manager_find_device(m, *i);

                if (d)
                        device_send_changed(m, d);
        }
        return;
fail:
        if (job)
                return_job_free(job);
        if (!l->return_timer &&
            sd_event_add_time_relative(m->event, &l->return_timer, CLOCK_MONOTONIC, RETURN_RETRY_USEC, 0,
                                       on_return_retry, l) >= 0)
                log_error_errno(r, "Cannot start returning IOMMU group %d, trying again in a second: %m", l->group);
        else
                log_error_errno(r, "Cannot start returning IOMMU group %d, and no timer to try again: it stays "
                                "releasing until passthrud restarts: %m", l->group);
}

/*
 * A lease that ends while its holder lives (its Release, root's revoke, a
 * member removed) may wait for it to let go of the group for as long as it likes: the
 * ledger says so, so that a daemon restarted meanwhile goes on with the
 * return instead of taking the group for a live lease again (and revokes
 * again what root revoked: lease_reconcile()).  A revoke writes it as it
 * starts, before its grace period.  Written now, on the loop: the next
 * write (the return's end) must not be overtaken by this one.  A return
 * that starts as its holder exits (most of them) writes nothing here.
 */
static void ledger_note_returning(Lease *l, const char *reason) {
        LedgerEntry *e = ledger_find_group(&l->manager->ledger, l->group);
        bool revoke = strcmp(reason, PT_LEASE_REASON_REVOKED) == 0;

        if (!e || l->holder_exited)
                return;
        /*
         * Written once, except that root's revoke goes over a "released"
         * (a holder that let go of its lease but kept the group): a restart
         * then revokes it again and kills that holder, instead of waiting.
         */
        if (e->returning && (!revoke || strcmp(e->returning, PT_LEASE_REASON_REVOKED) == 0))
                return;
        e->returning = reason;
        save_ledger_or_warn(l->manager);
}

void lease_end(Lease *l, const char *reason) {
        Manager *m = l->manager;
        char node[PATH_MAX];

        assert(l);
        assert(reason);

        if (l->state == LEASE_RELEASING)
                return;
        /* Its grant before its end. */
        if (l->announce_pending) {
                l->announce_pending = false;
                lease_announce(l);
        }
        lease_note_family(l);
        l->state = LEASE_RELEASING;
        l->reason = reason;
        ledger_note_returning(l, reason);
        lease_restore_memlock(l);
        l->pidfd_source = sd_event_source_disable_unref(l->pidfd_source);

        if (l->node_owner != UID_NONE) {
                group_node(m, l->group, node, sizeof(node));
                if (chown(node, 0, 0) < 0 && errno != ENOENT)
                        log_warning_errno(-errno, "Cannot take %s back from uid %u, ignoring: %m", node,
                                          (unsigned) l->node_owner);
        }
        lease_start_return(l);
}

/*
 * What the loop knows of who holds @l's group, copied for a walk of /proc
 * in a worker's thread (holders.h): the holder's pidfd, its family, every
 * other lease's node, holder and family.
 */
static Holders *lease_holders(Lease *l) {
        Manager *m = l->manager;
        _cleanup_(holders_freep) Holders *h = NULL;
        char node[PATH_MAX];

        group_node(m, l->group, node, sizeof(node));
        h = holders_new(m->paths.proc, node, l->group, l->vm, l->cgroup);
        if (!h || holders_set_holder(h, l->pid, l->pidfd, &l->family, l->family_seen) < 0)
                return NULL;
        h->uid = l->uid;
        for (size_t i = 0; i < m->n_leases; i++) {
                Lease *o = m->leases[i];

                if (o == l)
                        continue;
                group_node(m, o->group, node, sizeof(node));
                if (holders_add_other(h, node, o->pid, &o->family) < 0)
                        return NULL;
        }
        return TAKE_PTR(h);
}

/*
 * Remember who descends from the holder now: they may be orphaned later.
 * A pid remembered before that is now a process started since is not of
 * the family any more (recycled): forgotten.
 */
static void lease_note_family(Lease *l) {
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t now, tick;
        size_t k = 0;

        for (size_t i = 0; i < l->family.n; i++) {
                _cleanup_close_ int fd = process_pin(l->family.pids[i], l->family_seen, NULL);

                if (fd >= 0)
                        l->family.pids[k++] = l->family.pids[i];
        }
        l->family.n = k;
        /*
         * Before the walk, less one clock tick (/proc's start times are
         * rounded down to ticks): a process that passes as seen by then
         * started before the walk, whatever the rounding.
         */
        now = boottime_usec();
        tick = hz > 0 ? 1000000ULL / (uint64_t) hz : 10000ULL;
        l->family_seen = now > tick ? now - tick : 0;
        /*
         * A holder that exited has no children left to find: they went to a
         * reaper as it exited, and the walk would read its /proc for
         * nothing on the way back (a zombie still answers the signal).
         */
        if (l->pidfd >= 0 && !l->holder_exited && pidfd_send_signal(l->pidfd, 0) >= 0)
                (void) proc_add_descendants(l->manager->paths.proc, l->pid, &l->family);
}

static int kill_run(void *userdata) {
        holders_kill(userdata);
        return 0;
}

static void kill_done(int result, void *userdata) {
        (void) result;
        holders_free(userdata);
}

static void lease_kill(Lease *l) {
        Holders *h = lease_holders(l);

        l->killed = true;
        /* A return waiting for openers waits for whatever it finds from now on: all of it is dying. */
        if (l->return_openers)
                __atomic_store_n(&l->return_openers->killed, true, __ATOMIC_RELAXED);
        if (!h) {
                log_error("Out of memory for the kill of IOMMU group %d's holders; killing its holder only", l->group);
                if (l->pidfd >= 0)
                        (void) pidfd_send_signal(l->pidfd, SIGKILL);
                return;
        }
        if (worker_submit(l->manager->worker, kill_run, kill_done, h) < 0) {
                /* No thread: the walk on the loop. */
                holders_kill(h);
                holders_free(h);
        }
}

#define STUCK_CHECK_USEC (5 * 1000000ULL)

static void stuck_job_free(StuckJob *j) {
        if (!j)
                return;
        holders_free(j->holders);
        free(j->text);
        free(j);
}

/* The next stuck check in STUCK_CHECK_USEC. */
static void stuck_check_later(Lease *l) {
        (void) sd_event_source_set_time_relative(l->stuck_timer, STUCK_CHECK_USEC);
        (void) sd_event_source_set_enabled(l->stuck_timer, SD_EVENT_ONESHOT);
}

static int stuck_run(void *userdata) {
        _cleanup_(pid_set_done) PidSet suspects = {};
        _cleanup_free_ char *who = NULL;
        StuckJob *j = userdata;
        Holders *h = j->holders;

        (void) holders_suspects(h, &suspects);
        if (suspects.n > 0 && !(who = holders_pids_text(h, &suspects)))
                return -ENOMEM;
        if (asprintf(&j->text, "IOMMU group %d is not back: still open%s%s; kill them to let the device go back "
                     "(passthructl release again kills what it can attribute)", h->group,
                     who ? " in: suspects " : "", who ?: "") < 0) {
                j->text = NULL;
                return -ENOMEM;
        }
        return 0;
}

static void stuck_done(int result, void *userdata) {
        StuckJob *j = userdata;
        Lease *l = j->lease;

        if (!l)
                goto out;       /* the lease ended meanwhile */
        l->stuck_job = NULL;
        if (result >= 0 && (!l->stuck || strcmp(l->stuck, j->text) != 0)) {
                Manager *m = l->manager;

                log_warning("%s", j->text);
                free(l->stuck);
                l->stuck = TAKE_PTR(j->text);
                for (char **i = l->devices; *i; i++) {
                        Device *d = manager_find_device(m, *i);

                        if (d)
                                device_send_stuck_changed(m, d);
                }
        }
        stuck_check_later(l);
out:
        stuck_job_free(j);
}

/*
 * The group still has not come back some seconds after the kill: name the
 * processes that hold /dev/vfio/N or a VFIO device fd and belong to no
 * other lease, in the journal and in the device's Stuck property.  The
 * walk runs in a worker; the next check is armed when it is done.
 */
static int on_stuck_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Lease *l = userdata;
        StuckJob *j;

        (void) s;
        (void) usec;
        if (l->stuck_job)
                return 0;
        j = calloc(1, sizeof(*j));
        if (!j || !(j->holders = lease_holders(l))) {
                stuck_job_free(j);
                log_error("Out of memory for IOMMU group %d's stuck check, trying again later", l->group);
                goto again;
        }
        j->lease = l;
        if (worker_submit(l->manager->worker, stuck_run, stuck_done, j) < 0) {
                stuck_job_free(j);
                goto again;
        }
        l->stuck_job = j;
        return 0;
again:
        stuck_check_later(l);
        return 0;
}

static void lease_watch_stuck(Lease *l) {
        int r;

        if (l->stuck_timer)
                return;
        r = sd_event_add_time_relative(l->manager->event, &l->stuck_timer, CLOCK_MONOTONIC, STUCK_CHECK_USEC, 0,
                                       on_stuck_check, l);
        if (r < 0)
                log_warning_errno(r, "Cannot watch IOMMU group %d's return, ignoring: %m", l->group);
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata) {
        Lease *l = userdata;

        (void) s;
        (void) usec;
        l->grace_timer = sd_event_source_disable_unref(l->grace_timer);
        lease_kill(l);
        if (l->state != LEASE_RELEASING)
                lease_end(l, PT_LEASE_REASON_REVOKED);
        lease_watch_stuck(l);
        return 0;
}

void lease_revoke(Lease *l) {
        Manager *m = l->manager;
        int r;

        assert(l);

        if (l->grace_timer)
                return;                 /* the grace period is running */
        if (l->killed) {
                /* Asked again after the kill: kill what can be found now. */
                lease_kill(l);
                return;
        }
        if (l->state == LEASE_ACTIVE)
                l->state = LEASE_REVOKING;
        /* On disk before root hears of it: a daemon restarted during the grace period revokes the lease again. */
        ledger_note_returning(l, PT_LEASE_REASON_REVOKED);
        lease_note_family(l);
        manager_send_lease_revoked(m, l);
        log_lease("revoked", l->device, l->vm, (unsigned) l->pid, NULL);
        r = sd_event_add_time_relative(m->event, &l->grace_timer, CLOCK_MONOTONIC,
                                       m->config.revoke_grace_usec, 0, on_grace_over, l);
        if (r < 0) {
                log_error_errno(r, "Cannot start the grace period, ending the lease now: %m");
                on_grace_over(NULL, 0, l);
        }
}

static int on_holder_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Lease *l = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        l->holder_exited = true;
        if (l->state == LEASE_REVOKING)
                lease_end(l, PT_LEASE_REASON_REVOKED);
        else
                /* A member removed meanwhile is told by the return: its unbind finds it gone (return_done()). */
                lease_end(l, PT_LEASE_REASON_PROCESS_EXITED);
        return 0;
}

/*
 * A grant the daemon did not finish (it died after moving devices to
 * vfio-pci, before the ledger named them) leaves them there without a
 * lease.  No fd of their group left the daemon: the ledger comes first.
 * Unless someone holds the group (another tool's VM), they go back as a
 * lease's devices do, reset, under a lease without a holder or VM.
 */
static int lease_take_back_unfinished(Manager *m) {
        for (size_t i = 0; i < m->n_devices; i++) {
                _cleanup_(pid_set_done) PidSet holders = {};
                _cleanup_(holders_freep) Holders *h = NULL;
                Device *d = m->devices[i];
                Lease *l;
                int r;

                if (d->lease || d->sys.iommu_group < 0 || device_state(d) != DEVICE_FOREIGN)
                        continue;
                r = lease_new(m, &l);
                if (r < 0)
                        return r;
                l->group = d->sys.iommu_group;
                l->device = strdup(d->address);
                l->vm = strdup("");
                l->devices = calloc(1, sizeof(char *));
                if (!l->device || !l->vm || !l->devices) {
                        lease_free(l);
                        return -ENOMEM;
                }
                for (size_t k = i; k < m->n_devices; k++) {
                        Device *o = m->devices[k];

                        if (o->sys.iommu_group == l->group && !o->lease && device_state(o) == DEVICE_FOREIGN &&
                            strv_extend(&l->devices, o->address) < 0) {
                                lease_free(l);
                                return -ENOMEM;
                        }
                }
                /* The group open anywhere, or a VFIO device fd that no lease accounts for: leave it. */
                h = lease_holders(l);
                if (!h) {
                        lease_free(l);
                        return -ENOMEM;
                }
                r = holders_suspects(h, &holders);
                if (r < 0)
                        /* Who holds it cannot be told for sure: as if someone did. */
                        log_warning_errno(r, "Cannot tell who holds IOMMU group %d: %m", l->group);
                if (r < 0 || holders.n > 0) {
                        log_warning("%s is on vfio-pci without a lease and IOMMU group %d may be in use (pid %u): "
                                    "leaving it there, foreign", d->address, l->group, holders.n > 0 ? (unsigned) holders.pids[0] : 0);
                        for (char **k = l->devices; *k; k++) {
                                Device *o = manager_find_device(m, *k);

                                if (!o)
                                        continue;
                                o->foreign_seen = true;
                                /* For when it comes back, written now: a restart meanwhile would not know. */
                                (void) manager_set_quarantined(m, o, true);
                        }
                        lease_free(l);
                        continue;
                }
                log_notice("%s was left on vfio-pci by a grant that did not finish, or staged by a passthrud that died: "
                           "taking IOMMU group %d back",
                           d->address, l->group);
                lease_attach(l);
                lease_end(l, PT_LEASE_REASON_PROCESS_EXITED);
        }
        return 0;
}

/*
 * The members of ledger entry @e that a return may take: not one in
 * another group now, nor one a host driver holds (the ledger was edited,
 * or another device took the address while the daemon was away); each
 * left out is said.  A member gone is kept (its return skips it).
 */
static char **ledger_members_now(Manager *m, const LedgerEntry *e) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return NULL;
        for (char **a = e->devices; *a; a++) {
                const Device *d = manager_find_device(m, *a);
                const char *drv = d ? d->sys.driver : NULL;

                if (d && d->sys.iommu_group != e->group) {
                        log_warning("The lease ledger names %s in IOMMU group %d, but it is in group %d: left out of "
                                    "that lease's return, and quarantined (nothing of ours reset it)", *a, e->group,
                                    d->sys.iommu_group);
                        if (drv && (strcmp(drv, PT_STUB_DRIVER) == 0 || strcmp(drv, PT_VFIO_DRIVER) == 0))
                                (void) manager_quarantine_address(m, *a);
                        continue;
                }
                if (drv && strcmp(drv, PT_STUB_DRIVER) != 0 && strcmp(drv, PT_VFIO_DRIVER) != 0) {
                        log_warning("The lease ledger names %s (IOMMU group %d), but %s holds it: left out of that "
                                    "lease's return", *a, e->group, drv);
                        continue;
                }
                if (strv_extend(&l, *a) < 0)
                        return NULL;
        }
        return TAKE_PTR(l);
}

/*
 * Whether every member of @l is on vfio-pci, as a lease's are: one that is
 * not (unbound, or back on passthru) was on its way back when the daemon
 * stopped (or its grant had not finished), and its holder has no fd of it.
 */
static bool lease_members_on_vfio(Lease *l) {
        for (char **a = l->devices; *a; a++) {
                const Device *d = manager_find_device(l->manager, *a);

                if (d && !device_driver_is(d, PT_VFIO_DRIVER))
                        return false;
        }
        return true;
}

/*
 * A pidfd of ledger entry @e's holder: the process at its pid, when it
 * started when the entry says (not a new one with a recycled pid); -ESRCH
 * when there is no such process.
 */
static int ledger_holder_pin(const LedgerEntry *e) {
        _cleanup_close_ int fd = pidfd_open(e->pid);
        uint64_t start = 0;

        if (fd < 0 || pidfd_start_time(fd, e->pid, &start) < 0 || start != e->start_time)
                return -ESRCH;
        return TAKE_FD(fd);
}

int lease_reconcile(Manager *m) {
        for (size_t i = 0; i < m->ledger.n; i++) {
                const LedgerEntry *e = &m->ledger.entries[i];
                _cleanup_strv_free_ char **members = ledger_members_now(m, e);
                Lease *l;
                int r;

                if (!members)
                        return -ENOMEM;
                if (!members[0]) {
                        /* Nothing of it is a lease's to return: out of the ledger (written with the next change). */
                        log_warning("The lease ledger's entry for IOMMU group %d (VM '%s') names no device of that "
                                    "group that passthru or vfio-pci holds: dropped", e->group, e->vm);
                        ledger_remove(&m->ledger, e->group);
                        i--;
                        continue;
                }
                r = lease_new(m, &l);
                if (r < 0)
                        return r;
                l->group = e->group;
                l->pid = e->pid;
                l->start_time = e->start_time;
                l->uid = e->uid;
                l->node_owner = e->node_owner;
                l->vm = strdup(e->vm);
                l->device = strdup(members[0]);
                l->devices = TAKE_PTR(members);
                if (!l->vm || !l->device) {
                        lease_free(l);
                        return -ENOMEM;
                }
                lease_attach(l);

                if (e->returning) {
                        /* Its holder's pidfd, to kill it if root revokes the lease it let go of. */
                        l->pidfd = ledger_holder_pin(e);
                        if (l->pidfd < 0)
                                l->holder_exited = true;
                        /*
                         * Root's revoke, its holder still there with the group: revoked again, from the start
                         * (LeaseRevoked, the grace period, the kill), rather than waited for as if it had
                         * let go by itself.
                         */
                        if (!l->holder_exited && strcmp(e->returning, PT_LEASE_REASON_REVOKED) == 0 &&
                            lease_members_on_vfio(l) && lease_watch(l) >= 0) {
                                log_info("IOMMU group %d (VM '%s', pid %u) was being revoked when the daemon "
                                         "stopped: revoking it again", l->group, l->vm, (unsigned) l->pid);
                                lease_note_cgroup(l);
                                lease_revoke(l);
                                continue;
                        }
                        log_info("IOMMU group %d (VM '%s', pid %u) was on its way back (%s) when the daemon "
                                 "stopped: going on with its return", l->group, l->vm, (unsigned) l->pid,
                                 e->returning);
                        lease_end(l, e->returning);
                        continue;
                }
                if (!lease_members_on_vfio(l)) {
                        log_info("IOMMU group %d (VM '%s', pid %u) was on its way back when the daemon stopped: "
                                 "returning it", l->group, l->vm, (unsigned) l->pid);
                        lease_end(l, PT_LEASE_REASON_RELEASED);
                        continue;
                }
                l->pidfd = ledger_holder_pin(e);
                if (l->pidfd >= 0 && lease_watch(l) >= 0) {
                        /* For a revoke's kill, as a grant notes it after its reply. */
                        lease_note_cgroup(l);
                        log_info("Lease of IOMMU group %d by pid %u (VM '%s') survived the restart",
                                 l->group, (unsigned) l->pid, l->vm);
                        continue;
                }
                log_info("Holder %u of IOMMU group %d (VM '%s') died while the daemon was away",
                         (unsigned) l->pid, l->group, l->vm);
                lease_end(l, PT_LEASE_REASON_PROCESS_EXITED);
        }
        return lease_take_back_unfinished(m);
}
