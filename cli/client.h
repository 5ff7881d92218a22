/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl's bus client of org.passthru1: the devices as DeviceInfo,
 * Manager calls and properties, and the report of a failed call.
 *
 * Each function prints what went wrong, once, and returns a negative errno
 * that says which exit status it calls for (see passthructl.h): -EINVAL a
 * device argument that is no PCI address or an argument passthrud refused
 * (InvalidArgs), -EACCES not allowed, -ENODEV no such device, -EHOSTDOWN
 * passthrud not reachable (not running, or the bus could not start it);
 * any other is a failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* A Device object's properties (docs/DESIGN.md); client.c maps each name. */
typedef struct DeviceInfo {
        char *path;
        char *address, *state, *driver, *owner, *name, *reset_hint, *physical_function;
        uint16_t vendor, device;
        uint32_t class, owner_pid, total_vfs, num_vfs;
        int32_t group;
        bool passthrough, viable, pcie, msi, msix;
        char **group_devices, **assignments, **reset_methods, **reset_results, **virtual_functions;
} DeviceInfo;

void device_info_done(DeviceInfo *d);
void device_infos_free(DeviceInfo *d, size_t n);

/* An a{sv} of Device properties into @d; unknown names are skipped.  -EBADMSG without Address and State. */
int device_info_read(sd_bus_message *m, DeviceInfo *d);
/* The same for the properties a PropertiesChanged carries: any of them, maybe none. */
int device_info_read_some(sd_bus_message *m, DeviceInfo *d);

/*
 * passthrud's own socket when it is there and answers (docs/direct.md;
 * $PASSTHRU_SOCKET names another path, or, empty, none), else the system
 * bus.  Both serve the same objects; the caller cannot tell them apart.
 */
int connect_bus(sd_bus **ret);
/*
 * The system bus alone, for a client that keeps its connection without
 * reading it (the libvirt holder): passthrud sends every signal to each
 * connection of its socket and drops one that does not read, where the bus
 * delivers only what a client asked for.
 */
int connect_system_bus(sd_bus **ret);

/*
 * A device argument, DDDD:BB:SS.F or BB:SS.F (hex), as passthrud names the
 * device ("01:00.0" -> "0000:01:00.0"); -EINVAL, said on stderr, for anything
 * else.  passthrud checks it again.
 */
#define ADDRESS_MAX 13
int parse_address(const char *arg, char ret[ADDRESS_MAX]);

/* Every device, sorted by address, from the object manager: readable by anyone. */
int get_devices(sd_bus *bus, DeviceInfo **ret, size_t *ret_n);
/* One device by its address as given (DDDD:BB:SS.F or BB:SS.F). */
int get_device(sd_bus *bus, const char *arg, DeviceInfo *ret);

/* The IOMMU group of device @arg, as text ("7"): one lease covers a group. */
int get_device_group(sd_bus *bus, const char *arg, char *buf, size_t size);

/*
 * @s with every control character (C0, DEL, C1 as UTF-8) replaced by '?', in
 * place: what passthrud sends is shown so, and cannot act on a terminal.
 */
char *printable(char *s);

/* A Manager method; @what names the failure in the report. */
int call(sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...);
/* A boolean Manager property. */
int get_bool_property(sd_bus *bus, const char *name, int *ret);

/* Print a failed call with a hint at what to do; returns its errno class. */
int report(const char *what, const sd_bus_error *e, int r);
