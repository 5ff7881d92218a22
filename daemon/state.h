/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What survives a reboot (/var/lib/passthru/state): maintenance mode, the
 * devices marked for passthrough and the VMs assigned to each; and
 * /etc/modprobe.d/passthru.conf, which hides the marked devices at boot.
 *
 *   [Manager]
 *   MaintenanceMode=yes
 *
 *   [Device 0000:01:00.0]
 *   Passthrough=yes
 *   Assignments=vm-a vm-b
 *
 *   [Device 0000:06:00.0]
 *   Passthrough=no
 *   NumVFs=2
 *
 * NumVFs= (SR-IOV, a PF's): how many VFs passthrud creates at its start,
 * each hidden by passthru.ko (the rule of a PF's VFs in modprobe.d, its
 * address followed by a slash and a star); 0 or missing: none.
 *
 * Assignments= may be repeated (each adds to the list); any other key
 * given twice in one section, or a section given twice, is refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sysfs.h"              /* pci_address_valid() */

#define STATE_FILE_NAME "state"
#define VM_NAME_MAX 64

typedef struct StateDevice {
        char *address;                  /* "0000:01:00.0" */
        bool passthrough;
        char **assignments;             /* NULL-terminated, or NULL for none */
        unsigned num_vfs;               /* a PF's VFs to create, for passthrough */
} StateDevice;

typedef struct PersistentState {
        bool maintenance;
        StateDevice *devices;           /* in the file's order, which state_save() keeps */
        size_t n_devices;
        size_t *order;                  /* indexes into devices, sorted by address (state_ensure_device() adds) */
} PersistentState;

/*
 * Read DIR/state into *ret (which need not be initialized); a missing file
 * is an empty state.  On failure *ret is untouched, and *ret_error (if
 * given) says why, "PATH:LINE: reason" (NULL on -ENOMEM); free() it.
 */
int state_load(const char *dir, PersistentState *ret, char **ret_error);
/* Write DIR/state atomically (mode 0644), creating DIR (0755); -EINVAL if s holds an invalid name. */
int state_save(const char *dir, const PersistentState *s);
void state_done(PersistentState *s);

/* O(log n): the bus reads it for every device's State, Passthrough and Assignments. */
StateDevice *state_find_device(PersistentState *s, const char *address);
/*
 * Find the device or append it (not marked, no assignments): 1 if it was
 * added, 0 if it was there; -EINVAL for an invalid address.  Appending
 * moves the array: earlier StateDevice pointers are no longer valid.
 */
int state_ensure_device(PersistentState *s, const char *address, StateDevice **ret);

/* The first words of passthrud's modprobe.d file: what tells it from an administrator's. */
#define MODPROBE_CONF_MARK "# Written by passthrud"

/*
 * Write the modprobe.d file atomically (0644):
 *   # Written by passthrud: devices marked for passthrough.
 *   options passthru hide=(0000:01:00.0)(0000:02:00.0)
 * Each entry is an address, or a PF's address followed by a slash and a
 * star (the PF's VFs, passthru(4)).  With none, only the comment line.
 * -EINVAL for an invalid entry; -EEXIST, and nothing written, when a file
 * is there that passthrud did not write (modprobe_conf_owned()).
 */
int modprobe_conf_write(const char *path, char * const *addresses);
/*
 * 1 when the file at @path is passthrud's (it starts with
 * MODPROBE_CONF_MARK) or is not there; 0 when it is someone else's, which
 * passthrud never overwrites: an administrator's own rules would be lost,
 * and the next boot's initramfs made without them; or -errno.
 */
int modprobe_conf_owned(const char *path);
#define STATE_NUM_VFS_MAX 0xffffu

/* 1 to 64 characters of [A-Za-z0-9._-]. */
bool vm_name_valid(const char *s);

/*
 * Addresses in both files are canonical, as pci_address_valid() (sysfs.h)
 * checks: "DDDD:BB:SS.F", lowercase hex, slot < 0x20, function < 8.
 */
