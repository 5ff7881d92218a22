/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/passthru/passthru.conf: the daemon's settings.
 *
 *   [Daemon]
 *   Group=passthru              who may Acquire and Release besides root (a
 *                               group that does not exist: a warning, and
 *                               only root until it does)
 *   MaxDevicesPerVm=0           0 = no limit
 *   MaxActiveDevices=0          0 = no limit
 *   RevokeGraceSec=30           0..86400
 *   AllowUnsafeInterrupts=no    yes/no/true/false/1/0
 *   MaxConnections=128          the direct socket's connections, in total
 *   MaxConnectionsPerUser=32    ... and per uid (1..4096 each)
 *   MaxMemoryBytes=             cap of Acquire's MemoryBytes; bytes, or with
 *                               a K, M, G or T suffix (powers of 1024);
 *                               empty or 0: the host's physical memory
 *   StageIdleGroups=yes         a group whose return's reset worked stays
 *                               on vfio-pci, its node held open by
 *                               passthrud, for the next grant (stage.h);
 *                               no: every idle group on passthru
 *
 *   [Reset]
 *   8086:10d3=bus               pin a reset method per vendor:device: the only
 *                               one tried between two owners (when it lists it);
 *                               one of config_known_reset_methods
 *
 *   [Trust]
 *   8086:10d3=pm                reset methods trusted to clear this device's
 *                               state, besides flr, af_flr and bus (trusted
 *                               for every device); one or more, space-separated
 *
 * Comments: lines that start with '#' or ';', and " # ..." or " ; ..."
 * after a value.  A [Daemon] key given twice is refused; a [Reset] or
 * [Trust] line for ids that a line before named replaces it.  A line that
 * starts with a blank is more of the value before it (libinih's multi-line
 * values); the refusal of what that makes says so.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_GROUP            "passthru"
#define CONFIG_DEFAULT_REVOKE_GRACE_SEC 30U
#define CONFIG_REVOKE_GRACE_SEC_MAX     86400U
#define CONFIG_DEFAULT_MAX_CONNECTIONS  128U
#define CONFIG_DEFAULT_MAX_CONNECTIONS_PER_USER 32U
#define CONFIG_MAX_CONNECTIONS_MAX      4096U

typedef struct ConfigResetPin {
        uint16_t vendor, device;
        char *method;
} ConfigResetPin;

typedef struct ConfigTrust {
        uint16_t vendor, device;
        char **methods;
} ConfigTrust;

typedef struct Config {
        char *group;
        unsigned max_devices_per_vm;            /* 0 = no limit */
        unsigned max_active_devices;            /* 0 = no limit */
        unsigned max_connections;               /* the direct socket's, in total */
        unsigned max_connections_per_user;      /* ... and per uid */
        uint64_t revoke_grace_usec;
        bool allow_unsafe_interrupts;
        uint64_t max_memory_bytes;              /* 0 = the host's physical memory */
        bool stage_idle_groups;                 /* keep reset groups on vfio-pci between leases (stage.h) */
        ConfigResetPin *reset_pins;
        size_t n_reset_pins;
        ConfigTrust *trusts;
        size_t n_trusts;
} Config;

/* The defaults: group "passthru", no limits, 30 s grace, unsafe interrupts refused. */
int config_init(Config *c);
/* Free everything; c is then zeroed (and safe to config_done() again). */
void config_done(Config *c);

/*
 * Replace *c with the settings in path; keys the file does not set get
 * their defaults.  A missing file is the same as an empty one (defaults,
 * 0).  On any failure *c is left exactly as it was, and *ret_error (if
 * given) says why, "PATH:LINE: reason", or is NULL on -ENOMEM; free() it.
 * Malformed contents give -EINVAL, I/O errors their errno.  A file that
 * loads may still log a warning (a Group= that names no group).
 */
int config_load(Config *c, const char *path, char **ret_error);

/* The cap on Acquire's MemoryBytes, in bytes. */
uint64_t config_max_memory_bytes(const Config *c);

/* The pinned reset method for vendor:device, or NULL. */
const char *config_reset_method(const Config *c, uint16_t vendor, uint16_t device);

/*
 * Whether a successful reset with @method clears vendor:device's state
 * enough to hand the device to another owner: flr, af_flr and bus always,
 * any other method only when [Trust] names it for these ids.
 */
bool config_reset_trusted(const Config *c, uint16_t vendor, uint16_t device, const char *method);

/* The reset methods the kernel knows (sysfs reset_method), strongest first; NULL-terminated. */
extern const char *const config_known_reset_methods[];
/*
 * The methods trusted for every device (a function-level reset, or the
 * link's secondary bus reset): flr, af_flr, bus; NULL-terminated, in the
 * order reset.c's chain tries them, before the device's others.
 */
extern const char *const config_trusted_reset_methods[];

/* A name that Group= accepts: [A-Za-z_][A-Za-z0-9_.-]*, at most 31 characters. */
bool group_name_valid(const char *s);
