/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every name that passthrud, passthructl and the tests share: the bus
 * name, object paths, interfaces, error names, device states, the reasons
 * a lease ends and file locations.  The errors, the states and the reasons
 * are tables (X-macros): each is written once, here, and expanded where it
 * is needed.
 */
#pragma once

#define PT_BUS_NAME                     "org.passthru1"
#define PT_MANAGER_PATH                 "/org/passthru1"
#define PT_DEVICE_PATH_PREFIX           "/org/passthru1/device"
#define PT_MANAGER_INTERFACE            "org.passthru1.Manager"
#define PT_DEVICE_INTERFACE             "org.passthru1.Device"

/*
 * The D-Bus errors (docs/DESIGN.md, "Errors"), one line each: the name's
 * tail after PT_ERROR_PREFIX, and the errno that sd-bus maps it to and from
 * (manager-dbus.c registers the map).  Each becomes PT_ERROR_<ID>, the full
 * name as a string (static const char[], usable wherever a const char * is).
 * tests/unit/docs.py holds docs/DESIGN.md to this list.
 */
#define PT_ERROR_PREFIX                 "org.passthru1.Error."
#define PT_ERRORS(X)                                                    \
        X(NO_SUCH_DEVICE,       "NoSuchDevice",         ENODEV)         \
        X(NOT_PASSTHROUGH,      "NotPassthrough",       EPERM)          \
        X(DEVICE_BUSY,          "DeviceBusy",           EBUSY)          \
        X(GROUP_NOT_VIABLE,     "GroupNotViable",       EXDEV)          \
        X(MAINTENANCE_MODE,     "MaintenanceMode",      EROFS)          \
        X(NOT_IN_MAINTENANCE,   "NotInMaintenanceMode", EROFS)          \
        X(LEASES_ACTIVE,        "LeasesActive",         EBUSY)          \
        X(LIMIT_EXCEEDED,       "LimitExceeded",        EDQUOT)         \
        X(NOT_ASSIGNED,         "NotAssigned",          EACCES)         \
        X(IOMMU_UNAVAILABLE,    "IommuUnavailable",     ENXIO)          \
        X(RESET_FAILED,         "ResetFailed",          EIO)            \
        X(QUARANTINED,          "Quarantined",          EHWPOISON)

#define PT_ERROR_NAME_(id, tail, errno_) static const char PT_ERROR_##id[] = PT_ERROR_PREFIX tail;
PT_ERRORS(PT_ERROR_NAME_)
#undef PT_ERROR_NAME_

/*
 * A device's State property (docs/DESIGN.md, "States"), one line each: the
 * name on the bus, and its tone, which says how passthructl colours it
 * (GOOD green, BUSY yellow, BAD red, PLAIN none).  The daemon's DeviceState
 * (DEVICE_<ID>, in this order) and its names, passthructl's colours and
 * PT_DEVICE_STATE_<ID> (the name as a string) all come from here: a new
 * state is one line here and one row in docs/DESIGN.md, which
 * tests/unit/docs.py holds to this list.
 */
#define PT_DEVICE_STATES(X)                                                             \
        X(HOST,           "host",           PLAIN) /* not marked; a host driver or none */ \
        X(AVAILABLE,      "available",      GOOD)  /* on passthru or staged, can be leased */ \
        X(LEASED,         "leased",         BUSY)  /* on vfio-pci, held by a VM */         \
        X(RELEASING,      "releasing",      BUSY)  /* on its way back, to be reset */      \
        X(QUARANTINED,    "quarantined",    BAD)   /* back without a reset that worked */  \
        X(PENDING_REBOOT, "pending-reboot", BAD)   /* marked, but a host driver holds it */ \
        X(MISMATCH,       "mismatch",       BAD)   /* a pinned id differs */     \
        X(FOREIGN,        "foreign",        BAD)   /* marked, on vfio-pci without a lease: another tool moved it there */

#define PT_DEVICE_STATE_NAME_(id, name, tone) static const char PT_DEVICE_STATE_##id[] = name;
PT_DEVICE_STATES(PT_DEVICE_STATE_NAME_)
#undef PT_DEVICE_STATE_NAME_

/*
 * Why a lease ended: LeaseReleased's reason (docs/DESIGN.md, "Signals"),
 * one line each, PT_LEASE_REASON_<ID> the name as a string.
 * tests/unit/docs.py holds docs/DESIGN.md to this list.
 */
#define PT_LEASE_REASONS(X)                                                             \
        X(RELEASED,       "released")       /* the holder's Release */                  \
        X(PROCESS_EXITED, "process-exited") /* the holder, and all that held the group, exited */ \
        X(DEVICE_REMOVED, "device-removed") /* a device of the group left the bus */    \
        X(REVOKED,        "revoked")        /* root's Release */

#define PT_LEASE_REASON_NAME_(id, name) static const char PT_LEASE_REASON_##id[] = name;
PT_LEASE_REASONS(PT_LEASE_REASON_NAME_)
#undef PT_LEASE_REASON_NAME_

/* Files */
#define PT_CONFIG_FILE                  "/etc/passthru/passthru.conf"
#define PT_MODPROBE_FILE                "/etc/modprobe.d/passthru.conf"
#define PT_STATE_DIR                    "/var/lib/passthru"
#define PT_RUNTIME_DIR                  "/run/passthru"
/* The sha256 of the passthru.conf the initramfs images carry, "absent" for none: data/passthru-refresh-initramfs writes it. */
#define PT_INITRAMFS_MARKS_FILE         PT_STATE_DIR "/initramfs-marks"
/* passthrud's own socket: the same objects, peer-to-peer (docs/direct.md); $PASSTHRU_SOCKET moves it for clients. */
#define PT_DIRECT_SOCKET                "/run/passthru.sock"

/* The stub driver and the VFIO driver that devices move between. */
#define PT_STUB_DRIVER                  "passthru"
#define PT_VFIO_DRIVER                  "vfio-pci"
