/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A PCI device that passthrud tracks: what sysfs, libpci and passthru.ko say of it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <linux/passthru.h>

#include "macro.h"
#include "passthru-names.h"
#include "pci.h"
#include "reset.h"
#include "sysfs.h"

typedef struct Manager Manager;
typedef struct Lease Lease;
typedef struct Stage Stage;

/* DEVICE_HOST, DEVICE_AVAILABLE, ...: passthru-names.h's PT_DEVICE_STATES, in its order. */
typedef enum DeviceState {
#define DEVICE_STATE_ENUM_(id, name, tone) DEVICE_##id,
        PT_DEVICE_STATES(DEVICE_STATE_ENUM_)
#undef DEVICE_STATE_ENUM_
        _DEVICE_STATE_MAX,
} DeviceState;

typedef struct Device {
        Manager *manager;
        char address[13];
        char *object_path;
        SysfsPciDevice sys;
        PciDetails pci;         /* capabilities, read once (pci_known) */
        bool pci_known;
        char *name;             /* from pci.ids, looked up when first asked (device_name()); NULL until then */
        uint8_t module_state;   /* enum passthru_state from GET, 0 when unknown */
        char module_rule[PASSTHRU_RULE_MAX + 8];        /* the rule that matched, "" for none */
        bool quarantined;
        bool resetting;         /* root's Reset is running in the worker */
        bool sriov_busy;        /* root's SetNumVFs is writing sriov_numvfs in the worker */
        bool configuring;       /* root's SetPassthrough waits on passthru.ko or a host driver in the worker */
        bool foreign_seen;      /* seen on vfio-pci without a lease: quarantined then, shown foreign while there */
        bool refresh_queued;    /* in the manager's dirty list, to be re-read once the burst of events is over */
        Lease *lease;
        Stage *stage;           /* its group kept on vfio-pci for the next grant (stage.h), or NULL */
        char *announced;        /* what PropertiesChanged last said, to skip repeats */
        char **reset_results;   /* what the last reset chain did ("bus: ok"), since the daemon started */
        char *reset_hint;       /* "[Trust] VVVV:DDDD=METHOD in FILE" that would have been enough, or NULL */
} Device;

int device_new(Manager *m, const char *address, Device **ret);
Device *device_free(Device *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free);
/* Re-read sysfs and libpci; -ENODEV when the device is gone.  Nothing while sriov_busy: 0, as it was. */
int device_refresh(Device *d);
/* What the caller saw bound to the device itself, until the next device_refresh(). */
int device_note_driver(Device *d, const char *driver);
DeviceState device_state(const Device *d);
/*
 * Keep what @chain did for ResetResults and ResetHint (the [Trust] line,
 * "in @config_file").  The caller announces it (device_send_reset_changed()).
 */
int device_note_reset(Device *d, const ResetChain *chain, const char *config_file);
/*
 * What the last reset chain did, in words for the journal and errors (@r:
 * what reset_chain_run() returned): "bus: ok", or "no reset trusted to
 * clear its state worked (bus: Input/output error; pm: ok (not trusted
 * to clear state)); if pm does clear it, trust it: [Trust] 8086:10d3=pm
 * in /etc/passthru/passthru.conf, restart passthrud and run 'passthructl
 * reset ADDRESS'".  NULL on ENOMEM.
 */
char *device_reset_explain(const Device *d, int r);
bool device_marked(const Device *d);
/* Is @d bound to the driver @name, as the daemon last read it? */
bool device_driver_is(const Device *d, const char *name);
/* The Name property: pci.ids' "Vendor Device", looked up on first use (pci_access_name()); "" when unknown. */
const char *device_name(Device *d);
char **device_assignments(const Device *d);
/* The State property's name of @s (PT_DEVICE_STATE_*), NULL for none. */
const char *device_state_to_string(DeviceState s);
