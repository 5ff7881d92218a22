/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lease.h"
#include "log.h"
#include "macro.h"
#include "device-dbus.h"
#include "manager.h"
#include "sriov.h"
#include "manager-dbus.h"
#include "fileio.h"
#include "passthru-names.h"
#include "stage.h"
#include "strv.h"

const ManagerPaths manager_default_paths = {
        .sysfs = "/sys",
        .proc = "/proc",
        .dev = "/dev",
        .config_file = PT_CONFIG_FILE,
        .modprobe_file = PT_MODPROBE_FILE,
        .state_dir = PT_STATE_DIR,
        .runtime_dir = PT_RUNTIME_DIR,
        .direct_socket = PT_DIRECT_SOCKET,
};

int manager_new(const ManagerPaths *paths, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->paths = *paths;
        m->direct.listen_fd = -EBADF;
        m->runtime_fd = -EBADF;
        m->quarantine_retry_usec = 10 * 1000000ULL;
        m->unsafe_interrupts_fd = -EBADF;
        m->sysfs_root = m->paths.sysfs;
        r = config_init(&m->config);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->n_leases > 0)
                lease_free(m->leases[0]);
        free(m->leases);
        /* Stages are closed, not moved back: passthrud's stop unstages them before (stage_unstage_all()). */
        for (size_t i = 0; i < m->n_devices; i++)
                stage_free(m->devices[i]->stage);
        for (size_t i = 0; i < m->n_devices; i++)
                device_free(m->devices[i]);
        free(m->devices);
        group_cache_done(&m->groups);
        direct_done(&m->direct);
        safe_close(m->runtime_fd);
        safe_close(m->unsafe_interrupts_fd);
        sd_bus_flush_close_unref(m->bus);
        bus_peers_done(&m->peers);
        sd_event_source_disable_unref(m->nl_source);
        sd_event_source_disable_unref(m->refresh_source);
        sd_event_source_disable_unref(m->quarantine_retry);
        sd_event_source_disable_unref(m->announce_source);
        strv_free(m->dirty);
        strv_free(m->quarantine);
        pt_udev_free(m->udev);
        ptnl_close(m->nl);
        pci_access_close(m->pci);
        worker_free(m->worker);
        sd_event_unref(m->event);
        config_done(&m->config);
        state_done(&m->state);
        ledger_done(&m->ledger);
        free(m);
        return NULL;
}

/* Where @address is in m->devices, or where it would go (*found false). */
static size_t device_index(Manager *m, const char *address, bool *found) {
        size_t lo = 0, hi = m->n_devices;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(m->devices[mid]->address, address) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < m->n_devices && strcmp(m->devices[lo]->address, address) == 0;
        return lo;
}

Device *manager_find_device(Manager *m, const char *address) {
        bool found;
        size_t i = device_index(m, address, &found);

        return found ? m->devices[i] : NULL;
}

/* A tracked member's driver as the last event left it (group.h). */
static int member_driver(const char *address, const char **ret_driver, void *userdata) {
        Device *d = manager_find_device(userdata, address);

        if (!d)
                return 0;
        *ret_driver = d->sys.driver;
        return 1;
}

const Group *manager_group(Manager *m, int group) {
        return group_cache_get(&m->groups, m->sysfs_root, group, member_driver, m);
}

int manager_lookup_device(Manager *m, const char *arg, Device **ret, sd_bus_error *error) {
        char address[13];
        Device *d;

        if (pci_address_normalize(arg, address) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'%.*s'%s is not a PCI address: expected DDDD:BB:SS.F or BB:SS.F.",
                                         quote_len(arg), arg, quote_cut(arg));
        d = manager_find_device(m, address);
        if (!d)
                return sd_bus_error_setf(error, PT_ERROR_NO_SUCH_DEVICE, "No PCI device %s.", address);
        *ret = d;
        return 0;
}

static void quarantine_if_damaged(Manager *m, Device *d);

int manager_add_device(Manager *m, const char *address, Device **ret) {
        _cleanup_(device_freep) Device *fresh = NULL;
        Device *d, **a;
        bool found;
        size_t i;
        int r;

        i = device_index(m, address, &found);
        if (found) {
                if (ret)
                        *ret = m->devices[i];
                return 0;
        }
        r = device_new(m, address, &fresh);
        if (r < 0)
                return r;
        /*
         * Bridges are not tracked: sysfs_pci_read() stopped at the class and
         * the group, whose cache device_refresh() invalidated (a bridge's
         * driver counts for the group's viability).
         */
        if (fresh->sys.is_bridge)
                return -EADDRNOTAVAIL;
        a = reallocarray(m->devices, m->n_devices + 1, sizeof(Device *));
        if (!a)
                return -ENOMEM;
        m->devices = a;
        d = TAKE_PTR(fresh);
        d->quarantined = strv_contains(m->quarantine, d->address);
        if (m->quarantine_damaged && !d->quarantined) {
                quarantine_if_damaged(m, d);
                if (d->quarantined)
                        (void) manager_save_quarantine(m);
        }
        /* In order, without sorting: at start the addresses come sorted and each lands at the end. */
        memmove(m->devices + i + 1, m->devices + i, (m->n_devices - i) * sizeof(Device *));
        m->devices[i] = d;
        m->n_devices++;
        if (ret)
                *ret = d;
        return 1;
}

void manager_remove_device(Manager *m, Device *d) {
        bool found;
        size_t i = device_index(m, d->address, &found);

        if (found && m->devices[i] == d) {
                memmove(m->devices + i, m->devices + i + 1, (m->n_devices - i - 1) * sizeof(Device *));
                m->n_devices--;
        }
        group_cache_invalidate(&m->groups, d->sys.iommu_group);
        device_free(d);
}

unsigned manager_active_leases(Manager *m) {
        return (unsigned) m->n_leases;
}

unsigned manager_leased_devices(Manager *m, const char *vm) {
        unsigned n = 0;

        for (size_t i = 0; i < m->n_leases; i++)
                if (!vm || strcmp(m->leases[i]->vm, vm) == 0)
                        n += strv_length(m->leases[i]->devices);
        return n;
}

int manager_save_state(Manager *m) {
        return state_save(m->paths.state_dir, &m->state);
}

#define QUARANTINE_FILE "quarantine"

/*
 * The runtime directory, made (0700) and opened on first use and kept: the
 * ledger is written on every grant and return.  On tmpfs (/run) fsync()
 * keeps nothing that the rename did not, and the files die with the boot
 * anyway: writes there skip it.  Anywhere else they keep it.
 */
static int runtime_dir_fd(Manager *m) {
        _cleanup_free_ char *probe = NULL;
        int r;

        if (m->runtime_fd >= 0) {
                struct stat st;

                /* Removed under us (an administrator's rm -r /run/passthru): made again. */
                if (fstat(m->runtime_fd, &st) >= 0 && st.st_nlink > 0)
                        return m->runtime_fd;
                m->runtime_fd = safe_close(m->runtime_fd);
        }
        r = path_join(m->paths.runtime_dir, QUARANTINE_FILE, &probe);
        if (r >= 0)
                r = mkdir_parents(probe, 0700);
        if (r < 0)
                return r;
        m->runtime_fd = open(m->paths.runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->runtime_fd < 0)
                return -errno;
        m->runtime_volatile = fd_on_volatile_fs(m->runtime_fd);
        return m->runtime_fd;
}

static int write_quarantine(Manager *m) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        _cleanup_free_ char *text = NULL;
        int r;

        if (!l)
                return -ENOMEM;
        for (char **i = m->quarantine; i && *i; i++)
                if (strv_extend(&l, *i) < 0)
                        return -ENOMEM;
        text = strv_join(l, "\n");
        if (!text)
                return -ENOMEM;
        r = runtime_dir_fd(m);
        if (r >= 0)
                r = write_file_atomic_at(r, QUARANTINE_FILE, text, 0600, !m->runtime_volatile);
        return r;
}

static int on_quarantine_retry(sd_event_source *s, uint64_t usec, void *userdata);

int manager_save_quarantine(Manager *m) {
        int r = write_quarantine(m);

        if (r >= 0) {
                if (m->quarantine_unsaved)
                        log_notice("The quarantined devices are recorded in %s/" QUARANTINE_FILE " again",
                                   m->paths.runtime_dir);
                m->quarantine_unsaved = false;
                m->quarantine_retry = sd_event_source_disable_unref(m->quarantine_retry);
                return r;
        }
        if (!m->quarantine_unsaved)
                log_error_errno(r, "Cannot record the quarantined devices in %s/" QUARANTINE_FILE
                                   ": they stay quarantined, no lease is granted or ended on disk until they are "
                                   "recorded (tried every 10 s): %m", m->paths.runtime_dir);
        m->quarantine_unsaved = true;
        if (m->event && !m->quarantine_retry &&
            sd_event_add_time_relative(m->event, &m->quarantine_retry, CLOCK_MONOTONIC, m->quarantine_retry_usec, 0,
                                       on_quarantine_retry, m) < 0)
                log_error("Cannot retry the quarantine list's write: the next ledger write tries it");
        return r;
}

static int on_quarantine_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) usec;
        /* Not written: once more in 10 s. */
        if (manager_save_quarantine(m) < 0) {
                if (sd_event_source_set_time_relative(s, m->quarantine_retry_usec) >= 0)
                        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        /* Written (the source is gone): the ledger's writes that waited for it, now. */
        if (manager_save_ledger(m) < 0)
                log_warning("Cannot update the lease ledger in %s: the next lease change tries again",
                            m->paths.runtime_dir);
        return 0;
}

/* Before a ledger write: the quarantine list first, or no ledger write (a restart must not lose a quarantine). */
static int quarantine_catch_up(Manager *m) {
        return m->quarantine_unsaved ? manager_save_quarantine(m) : 0;
}

/* @address on the quarantine list (in memory), once. */
static int quarantine_list_add(Manager *m, const char *address) {
        return strv_contains(m->quarantine, address) ? 0 : strv_extend(&m->quarantine, address);
}

int manager_set_quarantined(Manager *m, Device *d, bool on) {
        int r;

        if (on) {
                /* Off its stage first: a quarantined device is not kept ready for a grant. */
                if (d->stage)
                        (void) stage_unstage(d->stage, "a member is quarantined");
                /* Held in memory even when the list cannot be written: manager_save_quarantine() catches up. */
                d->quarantined = true;
                r = quarantine_list_add(m, d->address);
                return r < 0 ? r : manager_save_quarantine(m);
        }
        (void) strv_remove(m->quarantine, d->address);
        r = write_quarantine(m);
        if (r < 0) {
                /* Lifted in memory only, a restart would bring it back: not lifted at all. */
                if (quarantine_list_add(m, d->address) < 0)
                        log_error("Out of memory: %s is quarantined on disk only", d->address);
                log_error_errno(r, "Cannot record in %s/" QUARANTINE_FILE " that %s is out of quarantine: %m",
                                m->paths.runtime_dir, d->address);
                return r;
        }
        d->quarantined = false;
        return manager_save_quarantine(m);
}

int manager_quarantine_address(Manager *m, const char *address) {
        Device *d = manager_find_device(m, address);

        if (d)
                return manager_set_quarantined(m, d, true);
        /* manager_add_device() finds it on the list when the device is known. */
        if (quarantine_list_add(m, address) < 0)
                return -ENOMEM;
        return manager_save_quarantine(m);
}

/* A device that may be ours (marked, or on passthru or vfio-pci): quarantined while the list is damaged. */
static void quarantine_if_damaged(Manager *m, Device *d) {
        if (!m->quarantine_damaged || d->quarantined)
                return;
        if (!device_marked(d) && !device_driver_is(d, PT_STUB_DRIVER) && !device_driver_is(d, PT_VFIO_DRIVER))
                return;
        d->quarantined = true;
        if (quarantine_list_add(m, d->address) < 0)
                log_error("Out of memory: %s is quarantined in memory only", d->address);
}

/*
 * The list as the last run left it.  A device that is gone now keeps its
 * quarantine for when it returns.  An address written by hand ("01:00.0",
 * capitals) names the device as its canonical form does.  A list that
 * cannot be read whole (unreadable, a NUL byte, a word that is no address)
 * may have named any device: every device that may be ours is quarantined,
 * now and as it appears, until root's Reset, and the list is written again
 * with them.
 */
static void load_quarantine(Manager *m) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t size = 0;
        int r;

        if (asprintf(&path, "%s/" QUARANTINE_FILE, m->paths.runtime_dir) < 0)
                return;
        r = read_full_file(path, &text, &size);
        if (r == -ENOENT)
                return;
        if (r < 0)
                log_error_errno(r, "Cannot read %s: %m", path);
        else if (memchr(text, '\0', size)) {
                log_error("%s: a NUL byte", path);
                r = -EBADMSG;
        }
        l = r < 0 ? NULL : strv_split(text);
        if (r >= 0 && !l)
                r = -ENOMEM;
        for (char **i = l; i && *i; i++) {
                char address[PCI_ADDRESS_LEN];
                Device *d;

                if (pci_address_normalize(*i, address) < 0) {
                        log_error("%s: '%s' is not a PCI address", path, *i);
                        r = -EBADMSG;
                        continue;
                }
                if (quarantine_list_add(m, address) < 0) {
                        r = -ENOMEM;
                        break;
                }
                d = manager_find_device(m, address);
                if (d)
                        d->quarantined = true;
        }
        if (r >= 0)
                return;
        log_error("%s cannot be read whole: quarantining every device marked or on %s or %s until root's Reset",
                  path, PT_STUB_DRIVER, PT_VFIO_DRIVER);
        m->quarantine_damaged = true;
        for (size_t i = 0; i < m->n_devices; i++)
                quarantine_if_damaged(m, m->devices[i]);
        (void) manager_save_quarantine(m);
}

int manager_save_ledger(Manager *m) {
        int fd = quarantine_catch_up(m);

        if (fd >= 0)
                fd = runtime_dir_fd(m);
        if (fd < 0)
                return fd;
        return ledger_save_at(fd, &m->ledger, !m->runtime_volatile);
}

struct LedgerWrite {
        int dirfd;
        bool durable;
        char *text;
        WorkerJob *job;         /* NULL: written by _start() already, with this result: */
        int result;
};

static int ledger_write_run(void *userdata) {
        LedgerWrite *w = userdata;

        return ledger_write_at(w->dirfd, w->text, w->durable);
}

int manager_save_ledger_start(Manager *m, bool beside, LedgerWrite **ret) {
        LedgerWrite *w;
        int fd, r;

        fd = quarantine_catch_up(m);
        if (fd >= 0)
                fd = runtime_dir_fd(m);
        if (fd < 0)
                return fd;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        r = ledger_format(&m->ledger, &w->text);
        if (r < 0) {
                free(w);
                return r;
        }
        w->dirfd = fd;
        w->durable = !m->runtime_volatile;
        if (!beside || !m->worker || worker_start(m->worker, ledger_write_run, w, &w->job) < 0) {
                w->job = NULL;
                w->result = ledger_write_run(w);
        }
        *ret = w;
        return 0;
}

int manager_save_ledger_finish(LedgerWrite *w) {
        int r = w->job ? worker_join(w->job) : w->result;

        free(w->text);
        free(w);
        return r;
}

static void forget_module(Manager *m) {
        for (size_t i = 0; i < m->n_devices; i++) {
                m->devices[i]->module_state = 0;
                m->devices[i]->module_rule[0] = '\0';
        }
}

/* passthru.ko went away (or never answered): forget it, and what it said. */
static void disconnect_module(Manager *m) {
        m->nl_source = sd_event_source_disable_unref(m->nl_source);
        m->nl = ptnl_close(m->nl);
        forget_module(m);
}

/* GET: what passthru.ko says of each device.  Does not log. */
static int module_refresh(Manager *m) {
        _cleanup_free_ PtNlDevice *devs = NULL;
        size_t n = 0;
        int r;

        r = ptnl_get(m->nl, &devs, &n);
        if (r < 0) {
                /* Unloaded, most likely: reconnect when it is back (or at the next PCI event). */
                if (r != -ENOMEM)
                        disconnect_module(m);
                return r;
        }
        forget_module(m);
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, devs[i].address);

                if (d) {
                        d->module_state = devs[i].state;
                        snprintf(d->module_rule, sizeof(d->module_rule), "%s", devs[i].rule);
                }
        }
        return 0;
}

int manager_read_cmdline(Manager *m, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/cmdline", m->paths.proc) < 0)
                return -ENOMEM;
        return read_full_file(path, ret, NULL);
}

void manager_refresh_module(Manager *m) {
        int r;

        if (!m->nl)
                return;
        r = module_refresh(m);
        if (r < 0)
                log_warning_errno(r, "Cannot ask passthru.ko for its devices, ignoring: %m");
}

/*
 * A device of ours that another tool moved to vfio-pci behind passthrud's
 * back (libvirt's managed='yes', driverctl, a bind by hand) is foreign:
 * said once in the journal, leased to nobody.  When it comes back to
 * passthru, nothing says it was reset between that tool's VM and the next:
 * it is quarantined until root's Reset.  The quarantine is written when it
 * is first seen foreign, so that a restart of passthrud meanwhile does not
 * forget it (passthru.ko claims it back without a reset of its own).
 */
static void note_foreign(Manager *m, Device *d) {
        DeviceState st = device_state(d);

        if (st == DEVICE_FOREIGN) {
                if (!d->foreign_seen)
                        log_warning("%s was moved to vfio-pci behind passthrud's back, not by a lease: it is leased "
                                    "to no VM, and quarantined for when it is back on passthru ('passthructl check' "
                                    "says who holds it)", d->address);
                d->foreign_seen = true;
                if (!d->quarantined)
                        (void) manager_set_quarantined(m, d, true);   /* held even when the list cannot be written yet */
                return;
        }
        if (!d->foreign_seen || !device_driver_is(d, PT_STUB_DRIVER))
                return;
        d->foreign_seen = false;
        (void) manager_set_quarantined(m, d, true);
        log_warning("%s is back on passthru from another tool, without a reset passthrud trusts: quarantined until "
                    "root's Reset ('passthructl reset %s')", d->address, d->address);
}

void manager_refresh_device(Manager *m, const char *address) {
        Device *d = manager_find_device(m, address);
        int r;

        if (!d) {
                r = manager_add_device(m, address, &d);
                /*
                 * Gone, or not readable, and not ours: whichever group listed
                 * it is read again (its driver counts for the group's
                 * viability).  A bridge's was, by its reading.
                 */
                if (r < 0 && r != -EADDRNOTAVAIL)
                        group_cache_invalidate_member(&m->groups, address);
                if (r < 0 && r != -EADDRNOTAVAIL && r != -ENODEV)
                        log_warning_errno(r, "Cannot read PCI device %s after its event, ignoring it: %m", address);
                if (r <= 0)
                        return;
                device_send_added(m, d);
                return;
        }
        r = device_refresh(d);
        /* A staged member gone, moved off vfio-pci or rebound by someone else: its stage ends. */
        stage_check(d, r);
        if (r == -ENODEV) {
                if (d->lease)
                        lease_end(d->lease, PT_LEASE_REASON_DEVICE_REMOVED);
                if (d->lease)
                        return; /* the lease's return job still refers to it */
                device_send_removed(m, d);
                manager_remove_device(m, d);
                return;
        }
        note_foreign(m, d);
        device_send_changed(m, d);
}

static int on_refresh(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        if (m->module_dirty) {
                m->module_dirty = false;
                manager_refresh_module(m);
        }
        for (unsigned k = 0; k < MANAGER_REFRESH_BATCH && m->dirty_done < m->n_dirty; k++) {
                /* Stays in the list until it is freed below: re-queuing it meanwhile appends a copy. */
                const char *address = m->dirty[m->dirty_done++];
                Device *d = manager_find_device(m, address);

                if (d)
                        d->refresh_queued = false;
                /* A lease's return job moves it now and re-reads it when done. */
                if (d && d->lease && d->lease->state == LEASE_RELEASING)
                        continue;
                manager_refresh_device(m, address);
        }
        if (m->dirty_done < m->n_dirty) {
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);       /* the rest after the bus */
                return 0;
        }
        m->dirty = strv_free(m->dirty);
        m->n_dirty = m->dirty_done = 0;
        return 0;
}

/* Queued and not re-read yet: @address among dirty[dirty_done..]. */
static bool dirty_contains(Manager *m, const char *address) {
        for (size_t i = m->dirty_done; i < m->n_dirty; i++)
                if (strcmp(m->dirty[i], address) == 0)
                        return true;
        return false;
}

/*
 * Put @address on the dirty list once.  A device of ours says itself
 * whether it is there: a burst of n events costs O(n); only an address new
 * to the daemon is looked for in the list.
 */
static int queue_refresh(Manager *m, const char *address) {
        Device *d = manager_find_device(m, address);
        char **a, *s;

        if (d ? d->refresh_queued : dirty_contains(m, address))
                return 0;
        s = strdup(address);
        a = s ? reallocarray(m->dirty, m->n_dirty + 2, sizeof(char *)) : NULL;
        if (!a) {
                free(s);
                return -ENOMEM;
        }
        a[m->n_dirty++] = s;
        a[m->n_dirty] = NULL;
        m->dirty = a;
        if (d)
                d->refresh_queued = true;
        return 0;
}

/* Re-read @address (and, with @module, passthru.ko's view) once the burst of events is over. */
static void refresh_later(Manager *m, const char *address, bool module) {
        m->module_dirty = m->module_dirty || module;
        if (queue_refresh(m, address) < 0) {
                manager_refresh_device(m, address);   /* no memory: do it now */
                return;
        }
        if (m->refresh_source)
                (void) sd_event_source_set_enabled(m->refresh_source, SD_EVENT_ONESHOT);
        else
                manager_refresh_device(m, address);
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Talk to passthru.ko and hear its events; it may be loaded after us. */
static int connect_module(Manager *m) {
        int r;

        r = ptnl_open(&m->nl);
        if (r < 0)
                return r;
        r = ptnl_subscribe(m->nl);
        if (r >= 0)
                r = sd_event_add_io(m->event, &m->nl_source, ptnl_event_fd(m->nl), EPOLLIN, on_netlink, m);
        if (r < 0)
                log_warning_errno(r, "Cannot hear passthru.ko's events, ignoring: %m");
        r = module_refresh(m);
        if (r < 0)
                return r;       /* it did not answer GET: the caller says so */
        log_info("Connected to passthru.ko");
        return 0;
}

void manager_refresh_later(Manager *m, const char *address) {
        refresh_later(m, address, false);
}

int manager_refresh_queued(Manager *m, Device *d) {
        int r;

        (void) m;
        if (!d->refresh_queued || d->lease)
                return 0;
        r = device_refresh(d);
        if (r >= 0) {
                d->refresh_queued = false;      /* its entry stays in the list: announced in its turn */
                stage_check(d, r);
        }
        return r;
}

static void on_udev(const char *subsystem, const char *action, const char *name, void *userdata) {
        Manager *m = userdata;
        int r;

        if (strcmp(subsystem, "module") == 0) {
                bool added = strcmp(action, "add") == 0;

                /* "change" (udevadm trigger, say) is neither. */
                if (strcmp(name, PT_STUB_DRIVER) != 0 || (!added && strcmp(action, "remove") != 0))
                        return;
                log_info("passthru.ko was %s", added ? "loaded" : "unloaded");
                disconnect_module(m);
                if (added) {
                        r = connect_module(m);
                        if (r < 0)
                                log_warning_errno(r, "Cannot talk to passthru.ko: %m");
                }
                for (size_t i = 0; i < m->n_devices; i++)
                        refresh_later(m, m->devices[i]->address, false);
                return;
        }
        if (!pci_address_valid(name))
                return;
        log_debug("udev: %s %s", action, name);
        /* Lost after a failed request while the module stayed: try again. */
        if (!m->nl && connect_module(m) >= 0)
                m->module_dirty = true;
        refresh_later(m, name, false);
}

static void on_module_event(const PtNlDevice *ev, void *userdata) {
        Manager *m = userdata;

        if (ev->event == PASSTHRU_EVENT_ERROR)
                log_warning("passthru.ko: %s met a PCIe error (AER or DPC); the kernel's log says whether it "
                            "recovered", ev->address);
        else
                log_debug("passthru.ko: %s %s", ptnl_event_to_string(ev->event), ev->address);
        refresh_later(m, ev->address, true);
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        (void) s;
        (void) fd;
        (void) revents;
        r = ptnl_read_events(m->nl, on_module_event, m);
        if (r < 0)
                log_warning_errno(r, "Cannot read passthru.ko's events, ignoring: %m");
        return 0;
}

int manager_load(Manager *m) {
        _cleanup_strv_free_ char **addresses = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        /* A file that does not parse must not leave wider access than it says. */
        r = config_load(&m->config, m->paths.config_file, &error);
        if (r < 0) {
                if (error)
                        log_error("%s: refusing to start", error);
                else
                        log_error_errno(r, "Cannot read %s, refusing to start: %m", m->paths.config_file);
                return r;
        }
        error = mfree(error);

        r = state_load(m->paths.state_dir, &m->state, &error);
        if (r < 0)
                return log_error_errno(r, "%s", error ?: "Cannot read the state");
        error = mfree(error);

        r = ledger_load(m->paths.runtime_dir, &m->ledger, &error);
        if (r < 0)
                return log_error_errno(r, "%s", error ?: "Cannot read the lease ledger");

        if (sysfs_iommu_state(m->paths.sysfs, &m->iommu_enabled) < 0)
                m->iommu_enabled = false;
        if (proc_interrupt_remapping(m->paths.proc, &m->interrupt_remapping) < 0)
                m->interrupt_remapping = false;

        r = pci_access_open(m->paths.sysfs, &m->pci);
        if (r < 0)
                log_warning_errno(r, "Cannot use libpci, device names and capabilities unknown: %m");

        r = sysfs_pci_list(m->paths.sysfs, &addresses);
        if (r < 0)
                return log_error_errno(r, "Cannot list PCI devices: %m");
        for (char **i = addresses; *i; i++) {
                r = manager_add_device(m, *i, NULL);
                if (r < 0 && r != -EADDRNOTAVAIL)
                        log_warning_errno(r, "Cannot read PCI device %s, ignoring: %m", *i);
        }
        load_quarantine(m);
        return 0;
}

int manager_attach_event(Manager *m, sd_event *event) {
        int r;

        m->event = sd_event_ref(event);
        r = sd_event_add_defer(event, &m->refresh_source, on_refresh, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->refresh_source, SD_EVENT_OFF);
        /* After every source of normal priority (the bus's among them): callers first, then a batch. */
        if (r >= 0)
                r = sd_event_source_set_priority(m->refresh_source, SD_EVENT_PRIORITY_NORMAL + 1);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");
        r = worker_new(event, &m->worker);
        if (r < 0)
                return log_error_errno(r, "Cannot start the worker: %m");
        /* A list the load could not write: retried from now on. */
        if (m->quarantine_unsaved) {
                m->quarantine_unsaved = false;  /* said again, with its retry */
                (void) manager_save_quarantine(m);
        }
        return 0;
}

/* @dir/.@name.PID.N: a write of @name cut between its open() and its rename() by a daemon that died. */
static void sweep_temporaries(const char *dir, const char *name) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return;         /* not made yet: nothing was written there */
        r = remove_atomic_temporaries_at(fd, name);
        if (r > 0)
                log_info("Removed %d temporary file(s) of %s/%s that an earlier passthrud left writing it", r, dir,
                         name);
        else if (r < 0)
                log_warning_errno(r, "Cannot remove the temporary files of %s/%s, ignoring: %m", dir, name);
}

/* What earlier runs left half-written: every file the daemon writes whole, before its first write. */
static void manager_sweep_temporaries(Manager *m) {
        _cleanup_free_ char *modprobe_dir = strdup(m->paths.modprobe_file);
        char *slash = modprobe_dir ? strrchr(modprobe_dir, '/') : NULL;

        sweep_temporaries(m->paths.runtime_dir, LEDGER_FILE_NAME);
        sweep_temporaries(m->paths.runtime_dir, QUARANTINE_FILE);
        sweep_temporaries(m->paths.state_dir, STATE_FILE_NAME);
        if (slash && slash != modprobe_dir) {
                *slash = '\0';
                sweep_temporaries(modprobe_dir, slash + 1);
        }
}

static void print_stopped(FILE *f, const void *userdata) {
        (void) userdata;
        fputs("# passthrud stopped; udev's rule does not start it again until it runs (passthrud(8))\n", f);
}

void manager_mark_stopped(Manager *m) {
        int fd = runtime_dir_fd(m), r;

        r = fd < 0 ? fd : write_file_atomic_printed_at(fd, MANAGER_STOPPED_FILE, 0644, false, print_stopped, NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot write %s/%s (udev may start passthrud again as its staged groups go "
                                  "back to passthru), ignoring: %m", m->paths.runtime_dir, MANAGER_STOPPED_FILE);
}

int manager_start(Manager *m, sd_event *event) {
        int r, fd;

        r = manager_attach_event(m, event);
        if (r < 0)
                return r;

        r = pt_udev_new(event, on_udev, m, &m->udev);
        if (r < 0)
                return log_error_errno(r, "Cannot listen to udev: %m");

        r = connect_module(m);
        if (r < 0)
                log_warning_errno(r, "passthru.ko is not reachable; devices are tracked without it until it is: %m");

        /* The name first: a second instance must touch nothing. */
        r = manager_bus_setup(m);
        if (r < 0)
                return r;
        manager_sweep_temporaries(m);
        /* Running again: udev's rule starts passthrud when passthru.ko takes a device. */
        fd = runtime_dir_fd(m);
        if (fd >= 0 && unlinkat(fd, MANAGER_STOPPED_FILE, 0) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Cannot remove %s/%s, ignoring: %m", m->paths.runtime_dir,
                                  MANAGER_STOPPED_FILE);

        r = lease_reconcile(m);
        if (r < 0)
                return log_error_errno(r, "Cannot reconcile the lease ledger: %m");
        /* Before the loop runs: no lease can be asked for before the VFs are there. */
        sriov_apply_saved(m);
        /* The direct socket after the name, like all else: its failure leaves callers the bus. */
        (void) direct_start(m, m->paths.direct_socket, m->config.group);
        return 0;
}
