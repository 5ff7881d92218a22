/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl's shared state: the exit statuses, the options main() parsed,
 * and the verbs its table runs.
 *
 * A verb returns a status >= 0 of its own (check's EXIT_CHECK, run's
 * command's) or a negative errno that main() maps to an exit status once:
 * -EINVAL bad usage, -EACCES not allowed, -ENODEV no such device,
 * -EHOSTDOWN passthrud not reachable, anything else failed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* Exit statuses, documented in passthructl(1). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,        /* the daemon refused or the operation failed */
        EXIT_USAGE = 2,
        EXIT_CHECK = 3,         /* check: passthrough cannot work here */
        EXIT_DENIED = 4,        /* not allowed */
        EXIT_NO_DEVICE = 5,     /* no such device */
        EXIT_NO_DAEMON = 6,     /* passthrud not reachable */
        EXIT_CANNOT_RUN = 127,  /* run: its command cannot be run (found nowhere, not executable) */
};

/* The options, set by main()'s parse_argv() before a verb runs. */
extern bool arg_legend;
extern bool arg_json;
extern bool arg_live;
extern bool arg_force;
extern char **arg_devices;
extern const char *arg_vm;
extern uint64_t arg_memory;
extern int arg_open_node;               /* -1: decide from the command */

/* verbs.c */
int verb_list(sd_bus *bus, char **args);
int verb_show(sd_bus *bus, char **args);
int verb_hide(sd_bus *bus, char **args);
int verb_unhide(sd_bus *bus, char **args);
int verb_sriov(sd_bus *bus, char **args);
int verb_maintenance(sd_bus *bus, char **args);
int verb_assign(sd_bus *bus, char **args);
int verb_unassign(sd_bus *bus, char **args);
int verb_release(sd_bus *bus, char **args);
int verb_reset(sd_bus *bus, char **args);
int verb_monitor(sd_bus *bus, char **args);

/* check.c */
int verb_check(sd_bus *bus, char **args);

/* run.c */
int verb_run(sd_bus *bus, char **args);
/* run's COMMAND: 0 when execvp() can find it, else EXIT_CANNOT_RUN, said on stderr. */
int run_check_command(char **args);

/* libvirt.c: libvirt's QEMU hook, and the lease holder it starts */
int verb_libvirt_hook(sd_bus *bus, char **args);
int verb_libvirt_hold(sd_bus *bus, char **args);
/* The libvirt domain a QEMU process runs for (its "-name guest="), or NULL; free() it. */
char *libvirt_domain_of(pid_t pid);
