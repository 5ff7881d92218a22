/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager: every device, every lease, the configuration and the state
 * on disk, and the connections to the bus, udev, libpci and passthru.ko.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bouncer.h"
#include "config.h"
#include "device.h"
#include "direct.h"
#include "group.h"
#include "ledger.h"
#include "netlink.h"
#include "pci.h"
#include "state.h"
#include "udev.h"
#include "worker.h"

typedef struct Lease Lease;

/* Where things live; tests point these at a scratch tree. */
typedef struct ManagerPaths {
        const char *sysfs;              /* /sys */
        const char *proc;               /* /proc */
        const char *dev;                /* /dev */
        const char *config_file;        /* /etc/passthru/passthru.conf */
        const char *modprobe_file;      /* /etc/modprobe.d/passthru.conf */
        const char *state_dir;          /* /var/lib/passthru */
        const char *runtime_dir;        /* /run/passthru */
        const char *direct_socket;      /* /run/passthru.sock when not passed by systemd; NULL: none */
} ManagerPaths;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        BusPeers peers;         /* when each bus connection appeared (bouncer.h) */
        Direct direct;          /* the direct socket's connections (direct.h) */
        ManagerPaths paths;
        const char *sysfs_root;         /* == paths.sysfs */

        Config config;
        PersistentState state;
        Ledger ledger;

        PtNetlink *nl;
        sd_event_source *nl_source;
        PtUdev *udev;
        PciAccess *pci;
        Worker *worker;

        Device **devices;               /* sorted by address */
        size_t n_devices;
        /* GroupDevices and Viable of each IOMMU group, kept until a member's event (group.h). */
        GroupCache groups;
        Lease **leases;
        size_t n_leases;
        /*
         * EnterMaintenanceMode was refused for leases still active: no new
         * lease is granted until it is entered or ExitMaintenanceMode (a
         * group member's new Acquire between root's revocations and its
         * Enter kept the host out of it for as long as it went on).
         */
        bool maintenance_asked;

        /* The runtime directory (ledger, quarantine), opened once; on tmpfs its writes skip fsync(). */
        int runtime_fd;
        bool runtime_volatile;
        /* vfio_iommu_type1's allow_unsafe_interrupts, kept open: read by every grant. */
        int unsafe_interrupts_fd;

        /* Quarantined addresses: kept when a device leaves and comes back. */
        char **quarantine;
        /* The list on disk is behind (a write failed): written before the ledger, and retried. */
        bool quarantine_unsaved;
        sd_event_source *quarantine_retry;
        uint64_t quarantine_retry_usec;         /* 10 s; tests shorten it */
        /* The list on disk could not be read whole: every device that may be ours is quarantined. */
        bool quarantine_damaged;

        bool reboot_required;
        /* Facts of the boot, read once: they cannot change while it runs. */
        bool iommu_enabled;
        bool interrupt_remapping;

        /*
         * Events are coalesced: what to re-read once the bus has been
         * answered, MANAGER_REFRESH_BATCH devices at a time (a storm of
         * events never holds a caller for longer than one batch).
         */
        sd_event_source *refresh_source;
        char **dirty;
        size_t n_dirty;         /* strv_length(dirty), so that a burst of n events costs O(n) */
        size_t dirty_done;      /* dirty[0..dirty_done) are re-read already */
        bool module_dirty;
        /* Grants announced after the callers waiting (lease_announce_later()); made at the first grant. */
        sd_event_source *announce_source;
} Manager;

extern const ManagerPaths manager_default_paths;

/* A manager without bus or event loop, for tests and for startup. */
int manager_new(const ManagerPaths *paths, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
/* Load configuration, state and ledger; enumerate devices. */
int manager_load(Manager *m);
/*
 * Devices re-read per turn of the event loop, after the bus's callers: a
 * re-read costs 1-3 ms under TCG (its sysfs reads and PropertiesChanged),
 * so a caller waits at most ~10 ms behind a storm.  16 let the storm of
 * make bench hold ListDevices for up to 66 ms (p99).
 */
#define MANAGER_REFRESH_BATCH 4
/* The event loop, the coalesced re-reading of devices and the worker (manager_start()'s first step; tests). */
int manager_attach_event(Manager *m, sd_event *event);
/* manager_attach_event(), then connect udev, netlink and the bus, take the name, reconcile leases. */
int manager_start(Manager *m, sd_event *event);
/*
 * Before passthrud's own stop puts its staged groups back on passthru:
 * MANAGER_STOPPED_FILE in the runtime directory, which udev's rule
 * (70-passthru.rules) reads, so that those binds do not start passthrud
 * again; manager_start() removes it.
 */
#define MANAGER_STOPPED_FILE "stopped"
void manager_mark_stopped(Manager *m);

Device *manager_find_device(Manager *m, const char *address);
/* IOMMU group @group as last read (group.h): its members, endpoints and viability; NULL when unreadable. */
const Group *manager_group(Manager *m, int group);
/* Parse "0000:01:00.0" or "01:00.0" and find the device. */
int manager_lookup_device(Manager *m, const char *arg, Device **ret, sd_bus_error *error);
int manager_add_device(Manager *m, const char *address, Device **ret);
void manager_remove_device(Manager *m, Device *d);
/* Re-read a device and tell the bus what changed. */
void manager_refresh_device(Manager *m, const char *address);
/* The same, once the current burst of events is handled. */
void manager_refresh_later(Manager *m, const char *address);
/*
 * @d now as sysfs says, when an event of it is queued and not handled yet
 * (a storm's later batches): a grant must not decide on what that event
 * changed.  Its announcement stays queued.  Read once: the next caller
 * finds it current.  A leased device is not read (its lease decides its
 * state, and its return job holds its lock through the reset and reads it
 * when done).  -ENODEV when it is gone.
 */
int manager_refresh_queued(Manager *m, Device *d);
/* Ask passthru.ko what it knows (module states, mismatches). */
void manager_refresh_module(Manager *m);

/* The kernel command line (paths.proc's cmdline), NUL-terminated, in *@ret to free(). */
int manager_read_cmdline(Manager *m, char **ret);

unsigned manager_active_leases(Manager *m);
unsigned manager_leased_devices(Manager *m, const char *vm);
int manager_save_state(Manager *m);
/*
 * Quarantine @d, or lift it (only a successful Reset may).  The list is on
 * disk before this returns: it outlives a restart of the daemon (not a
 * reboot) and the device's removal and return.  When it cannot be written,
 * a quarantine holds all the same (and the list is written again before
 * any ledger write, which waits for it, and every 10 s), and a lifted one
 * does not happen: -errno.
 */
int manager_set_quarantined(Manager *m, Device *d, bool on);
/* Quarantine @address, a device known or not (yet): on the list, on disk, and on the device once known. */
int manager_quarantine_address(Manager *m, const char *address);
int manager_save_quarantine(Manager *m);
int manager_save_ledger(Manager *m);
/*
 * manager_save_ledger() in two halves, for a grant: the ledger as it is now
 * is written by a worker's thread while the caller goes on (the group's
 * moves), and _finish() waits for it and gives its result.  Without a
 * worker (or a thread for it), or without @beside (the caller has nothing
 * to do meanwhile: a staged group's grant), _start() writes it itself.
 * Every started write is finished before the loop runs again.
 */
typedef struct LedgerWrite LedgerWrite;
int manager_save_ledger_start(Manager *m, bool beside, LedgerWrite **ret);
int manager_save_ledger_finish(LedgerWrite *w);
