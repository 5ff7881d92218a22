/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.passthru1.Manager: the bus API of the manager. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bouncer.h"
#include "cmdline.h"
#include "device-dbus.h"
#include "faultpoint.h"
#include "fileio.h"
#include "critical.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-names.h"
#include "sriov.h"
#include "stage.h"
#include "strv.h"


/* passthru-names.h's PT_ERRORS: each name and its errno. */
const sd_bus_error_map pt_error_map[] = {
#define ERROR_MAP_(id, tail, errno_) SD_BUS_ERROR_MAP(PT_ERROR_##id, errno_),
        PT_ERRORS(ERROR_MAP_)
#undef ERROR_MAP_
        SD_BUS_ERROR_MAP_END
};

sd_bus *manager_bus_nth(Manager *m, size_t i) {
        if (m->bus) {
                if (i == 0)
                        return m->bus;
                i--;
        }
        return direct_bus_nth(&m->direct, i);
}

/* One signal, to every connection. */
static void send_signal(Manager *m, const char *member, const char *types, ...) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
                va_list ap;
                int r;

                r = sd_bus_message_new_signal(bus, &msg, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, member);
                if (r < 0)
                        continue;
                va_start(ap, types);
                r = sd_bus_message_appendv(msg, types, ap);
                va_end(ap);
                if (r >= 0)
                        (void) sd_bus_send(bus, msg, NULL);
        }
}

void manager_send_changed(Manager *m, const char *property) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_properties_changed(bus, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, property, NULL);
}

/* The signals' senders: their members and signatures match the vtable below. */
void manager_send_lease_acquired(Manager *m, const Lease *l) {
        send_signal(m, "LeaseAcquired", "ssu", l->device, l->vm, (uint32_t) l->pid);
}

void manager_send_lease_revoked(Manager *m, const Lease *l) {
        send_signal(m, "LeaseRevoked", "ssu", l->device, l->vm, (uint32_t) l->pid);
}

void manager_send_lease_released(Manager *m, const char *device, const char *vm, const char *reason) {
        send_signal(m, "LeaseReleased", "sss", device, vm ?: "", reason);
}

/* ---- methods ---- */

static int method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = bouncer_check(m, msg, NULL, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssso)");
        if (r < 0)
                return r;
        /* Each field by itself: sd_bus_message_append()'s reading of a signature per device cost a fifth. */
        for (size_t i = 0; r >= 0 && i < m->n_devices; i++) {
                Device *d = m->devices[i];

                r = sd_bus_message_open_container(reply, 'r', "sssso");
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', d->address);
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', device_state_to_string(device_state(d)));
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', d->sys.driver ?: "");
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', d->lease ? d->lease->vm : "");
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 'o', d->object_path);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The start of every method on one device: may the sender call it, and which device. */
static int read_device_call(Manager *m, sd_bus_message *msg, Caller *caller, Device **ret, sd_bus_error *error) {
        const char *arg;
        int r;

        r = bouncer_check(m, msg, caller, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &arg);
        if (r < 0)
                return r;
        return manager_lookup_device(m, arg, ret, error);
}

static int method_get_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Device *d;
        int r;

        r = read_device_call(userdata, msg, NULL, &d, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", d->object_path);
}

/* One a{sv} option a method takes: its name, its type ('b', 'u' or 't') and where it goes. */
typedef struct MethodOption {
        const char *name;
        char type;
        void *ret;
        bool *seen;     /* optional: set when the caller passed it */
} MethodOption;

/* Read an a{sv} of options; anything unknown or of the wrong type is InvalidArgs, naming what is taken. */
static int read_options(sd_bus_message *msg, const MethodOption *table, size_t n, sd_bus_error *error) {
        bool given[8] = {};     /* more than any method takes */
        const char *key;
        int r;

        assert(n <= ELEMENTSOF(given));

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const MethodOption *o = NULL;
                char sig[2] = {};

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (strcmp(table[i].name, key) == 0)
                                o = &table[i];
                if (!o) {
                        _cleanup_free_ char *taken = NULL;
                        size_t len = 0;
                        FILE *f = open_memstream(&taken, &len);

                        for (size_t i = 0; f && i < n; i++)
                                fprintf(f, "%s%s (%c)", i == 0 ? "" : i + 1 == n ? " and " : ", ", table[i].name,
                                        table[i].type);
                        if (f)
                                fclose(f);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.*s'%s: %s takes %s.",
                                                 quote_len(key), key, quote_cut(key),
                                                 sd_bus_message_get_member(msg), taken ?: "no options");
                }
                /* Which of two values was meant?  Neither is taken. */
                if (given[o - table])
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' is given twice.", key);
                given[o - table] = true;
                sig[0] = o->type;
                r = sd_bus_message_read(msg, "v", sig, o->ret);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' has the wrong type: expected '%c'.", key, o->type);
                if (o->seen)
                        *o->seen = true;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static int check_vm_name(const char *vm, sd_bus_error *error) {
        if (!vm_name_valid(vm))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'%.*s'%s is not a VM name: 1-64 characters of A-Z a-z 0-9 . _ -",
                                         quote_len(vm), vm, quote_cut(vm));
        return 0;
}

static int read_acquire_options(sd_bus_message *msg, AcquireOptions *opts, sd_bus_error *error) {
        uint32_t uid = 0;
        bool owner = false;
        const MethodOption table[] = {
                { "MemoryBytes", 't', &opts->memory_bytes, NULL },
                { "DeviceNodeOwner", 'u', &uid, &owner },
        };
        int r;

        *opts = (AcquireOptions) { .node_owner = (uid_t) -1 };
        r = read_options(msg, table, ELEMENTSOF(table), error);
        if (r < 0)
                return r;
        if (owner) {
                if (uid == UINT32_MAX)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "DeviceNodeOwner: not a valid uid.");
                opts->node_owner = (uid_t) uid;
        }
        return 0;
}

static int method_acquire(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **endpoints = NULL;
        _cleanup_close_ int fd = -EBADF, pidfd = -EBADF;
        Manager *m = userdata;
        const char *arg, *vm;
        AcquireOptions opts;
        Caller caller;
        Lease *l = NULL;
        Device *d;
        int r;

        r = bouncer_check(m, msg, &caller, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "ss", &arg, &vm);
        if (r < 0)
                return r;
        r = read_acquire_options(msg, &opts, error);
        if (r < 0)
                return r;
        r = check_vm_name(vm, error);
        if (r < 0)
                return r;
        r = manager_lookup_device(m, arg, &d, error);
        if (r < 0)
                return r;
        /* Refusals come in docs/DESIGN.md's order before anything is pinned. */
        r = lease_check(m, d, vm, opts.memory_bytes, &endpoints, error);
        if (r < 0)
                return r;
        /* The caller pinned, and proved to be the connection's maker. */
        pidfd = bouncer_pin(m, msg, &caller, error);
        if (pidfd < 0)
                return pidfd;
        r = lease_acquire(m, d, vm, TAKE_PTR(endpoints), caller.pid, TAKE_FD(pidfd), caller.start_time, caller.euid,
                          &opts, &l, &fd, error);
        if (r < 0)
                return r;
        /* The fd first, then the books and the news. */
        r = sd_bus_reply_method_return(msg, "h", fd);
        FAULT_POINT("acquire-sent");
        lease_note_cgroup(l);
        lease_announce_later(l);
        return r;
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Caller caller;
        bool holder;
        Device *d;
        Lease *l;
        int r;

        r = read_device_call(m, msg, &caller, &d, error);
        if (r < 0)
                return r;
        l = d->lease;
        if (!l)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s is not leased.", d->address);
        holder = bouncer_is_process(m, msg, &caller, l->pid, l->start_time);
        /*
         * The holder ends its lease (again: a no-op, whoever it runs as: a
         * root VMM retrying its Release does not revoke, and so kill,
         * itself).  Root revokes another's, also one on its way back: a
         * device held past its release is taken.
         */
        if (holder) {
                if (l->state != LEASE_RELEASING)
                        lease_end(l, PT_LEASE_REASON_RELEASED);
        } else if (caller.euid == 0)
                lease_revoke(l);
        else if (caller.pid == l->pid)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s is leased to VM '%s' by pid %u, but the process calling is not the one "
                                         "that made this connection (it exited: a connection passed on releases "
                                         "nothing).", d->address, l->vm, (unsigned) l->pid);
        else
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s is leased to VM '%s' by another process (pid %u).", d->address, l->vm,
                                         (unsigned) l->pid);
        return sd_bus_reply_method_return(msg, NULL);
}

/* SetPassthrough's and Assign's device, after their arguments: it exists, and the host is in maintenance mode. */
static int lookup_device_to_configure(Manager *m, const char *arg, Device **ret, sd_bus_error *error) {
        int r;

        r = manager_lookup_device(m, arg, ret, error);
        if (r < 0)
                return r;
        if (!m->state.maintenance)
                return sd_bus_error_set(error, PT_ERROR_NOT_IN_MAINTENANCE,
                                        "Passthrough configuration changes only in maintenance mode: call EnterMaintenanceMode first.");
        return 0;
}

/* One change of a device at a time: SetPassthrough's may still wait on passthru.ko or a host driver. */
static int check_not_configuring(const Device *d, sd_bus_error *error) {
        if (d->configuring)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is being changed by an earlier SetPassthrough: ask again when it has "
                                         "answered.", d->address);
        /* A reset and a move to or from a host driver at once: the reset's bus-master clear could hit that driver. */
        if (d->resetting)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is being reset: ask again when Reset has answered.", d->address);
        return 0;
}

/*
 * modprobe.d's file is passthrud's own: one it did not write (an
 * administrator's rules, as passthru(4) once suggested) is never
 * overwritten, so a call that would write it is refused before anything
 * changes.
 */
static int check_modprobe_ours(Manager *m, sd_bus_error *error) {
        int r = modprobe_conf_owned(m->paths.modprobe_file);

        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read %s: %m", m->paths.modprobe_file);
        if (r == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                         "%s was not written by passthrud (its first line is not '"
                                         MODPROBE_CONF_MARK "'), and passthrud keeps its marks there: move your "
                                         "own 'options passthru' lines to a file of your own in /etc/modprobe.d "
                                         "(rules add up; passthru's initramfs hooks take passthru*.conf), remove "
                                         "this one, and call again.", m->paths.modprobe_file);
        return 0;
}

/* Write /etc/modprobe.d/passthru.conf from the marked devices and the PFs whose VFs passthrud makes. */
static int write_modprobe(Manager *m) {
        _cleanup_strv_free_ char **marked = calloc(1, sizeof(char *));
        int r;

        if (!marked)
                return -ENOMEM;
        for (size_t i = 0; i < m->state.n_devices; i++) {
                if (m->state.devices[i].passthrough) {
                        r = strv_extend(&marked, m->state.devices[i].address);
                        if (r < 0)
                                return r;
                }
                if (m->state.devices[i].num_vfs > 0) {
                        _cleanup_free_ char *vfs = NULL;

                        if (asprintf(&vfs, "%s/*", m->state.devices[i].address) < 0)
                                return -ENOMEM;
                        r = strv_extend(&marked, vfs);
                        if (r < 0)
                                return r;
                }
        }
        r = mkdir_parents(m->paths.modprobe_file, 0755);
        if (r < 0)
                return r;
        return modprobe_conf_write(m->paths.modprobe_file, marked);
}

/*
 * passthrud drops only a rule it could have added itself: one device's
 * address, not on the kernel command line.  Any other would stay, or come
 * back at the next boot: say where to change it instead, and change nothing.
 */
static int check_unmark(Manager *m, Device *d, sd_bus_error *error) {
        _cleanup_free_ char *cmdline = NULL;
        const Device *pf = d->sys.physfn[0] ? manager_find_device(m, d->sys.physfn) : NULL;
        char rule[PASSTHRU_RULE_MAX + 8];
        int r;

        /* The VFs rule, with a VF count saved for that PF: the one SetNumVFs gave the module. */
        if (pf && d->module_rule[0]) {
                const StateDevice *saved = state_find_device(&m->state, pf->address);
                char vfs[SRIOV_RULE_LEN];

                sriov_vf_rule(pf->address, vfs);
                if (saved && saved->num_vfs > 0 && strcmp(d->module_rule, vfs) == 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                                 "%s is a VF of %s, whose VFs are all for passthrough by the rule "
                                                 "'%s' that SetNumVFs gave passthru.ko: give them up with "
                                                 "SetNumVFs %s 0 ('passthructl sriov %s 0').", d->address,
                                                 pf->address, vfs, pf->address, pf->address);
        }
        if (d->module_rule[0] && (d->module_rule[0] != '(' || strchr(d->module_rule, '*')))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "%s is hidden by passthru.ko's rule '%s', which covers more than this device: "
                                         "change passthru.hide= or passthru.ids= where it is set (the kernel command "
                                         "line or /etc/modprobe.d) and reboot.", d->address, d->module_rule);
        /* (PF/N) names one VF, but by its PF: never a rule of passthrud's. */
        if (strchr(d->module_rule, '/'))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "%s is hidden by passthru.ko's rule '%s', which names it as a VF of its PF, "
                                         "not a rule of passthrud's: change passthru.hide= where it is set (the kernel "
                                         "command line or /etc/modprobe.d) and reboot.", d->address, d->module_rule);
        r = manager_read_cmdline(m, &cmdline);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 &&
            cmdline_hide_covers_vf(cmdline, d->address, d->sys.vendor, d->sys.device, d->sys.physfn,
                                   pf ? strv_index(pf->sys.virtfns, d->address) : -1, rule, sizeof(rule)))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "%s is hidden by '%s' on the kernel command line (passthru.hide=): "
                                         "remove it there and reboot.", d->address, rule);
        return 0;
}

/* Undo a write of modprobe.d after a failure; the failure to undo is logged. */
static void put_back_modprobe(Manager *m) {
        int r = write_modprobe(m);

        if (r < 0)
                log_error_errno(r, "Cannot put back %s: %m", m->paths.modprobe_file);
}

/*
 * Write modprobe.d and the state file after a change to @s (its mark or
 * its VF count, no list); on failure put @s back as @before was, and
 * modprobe.d with it.
 */
static int save_device_change(Manager *m, StateDevice *s, StateDevice before) {
        int r;

        r = write_modprobe(m);
        if (r >= 0)
                r = manager_save_state(m);
        if (r < 0) {
                *s = before;
                put_back_modprobe(m);
        }
        return r;
}

/*
 * Taking a device from its host driver, live: the driver's remove may wait
 * as long as someone uses the device (vfio-pci's waits for its holder), so
 * it runs in a worker and SetPassthrough answers when it is done.
 */
typedef struct TakeJob {
        Manager *m;
        sd_bus_message *msg;
        char *sysfs_root;
        char *driver;
        char address[13];
} TakeJob;

static void take_job_free(TakeJob *job) {
        sd_bus_message_unref(job->msg);
        free(job->sysfs_root);
        free(job->driver);
        free(job);
}

static int take_run(void *userdata) {
        TakeJob *job = userdata;

        return sysfs_bind_to(job->sysfs_root, job->address, PT_STUB_DRIVER);
}

static void take_done(int result, void *userdata) {
        TakeJob *job = userdata;
        Device *d = manager_find_device(job->m, job->address);

        if (d)
                d->configuring = false;
        if (result < 0) {
                log_error_errno(result, "Cannot take %s from driver '%s': %m", job->address, job->driver);
                (void) sd_bus_reply_method_errnof(job->msg, -result, "Cannot take %s from driver '%s': %m", job->address,
                                                  job->driver);
        } else {
                log_info("Took %s from driver '%s' for passthrough", job->address, job->driver);
                (void) sd_bus_reply_method_return(job->msg, "b", false);
        }
        manager_refresh_module(job->m);
        manager_refresh_device(job->m, job->address);
        take_job_free(job);
}

static int take_from_host_driver(Manager *m, sd_bus_message *msg, Device *d, sd_bus_error *error) {
        TakeJob *job;
        int r;

        job = calloc(1, sizeof(*job));
        if (!job)
                return -ENOMEM;
        job->m = m;
        job->msg = sd_bus_message_ref(msg);
        job->sysfs_root = strdup(m->sysfs_root);
        job->driver = strdup(d->sys.driver);
        snprintf(job->address, sizeof(job->address), "%s", d->address);
        if (!job->sysfs_root || !job->driver) {
                take_job_free(job);
                return -ENOMEM;
        }
        r = worker_submit(m->worker, take_run, take_done, job);
        if (r < 0) {
                take_job_free(job);
                return sd_bus_error_set_errnof(error, r, "Cannot start taking %s from its driver: %m", d->address);
        }
        return 1;
}

/* A mark SetPassthrough saved and cannot carry out: @s's Passthrough back to @was, and the files with it. */
static void put_back_mark(Manager *m, StateDevice *s, bool was) {
        int r;

        if (s)
                s->passthrough = was;
        put_back_modprobe(m);
        r = manager_save_state(m);
        if (r < 0)
                log_error_errno(r, "Cannot put back the state in %s: %m", m->paths.state_dir);
}

/*
 * What SetPassthrough does once passthru.ko has answered its HIDE or
 * UNHIDE of @sent (NULL: no module to ask; @result its answer, @nlmsg the
 * module's explanation of a refusal):
 * a host driver's device is taken now (Live) or at the next boot, and an
 * unmark that another rule undoes is put back.  Returns as a method
 * handler: 1 once a worker goes on with @msg, 0 once it is answered.
 */
static int set_passthrough_finish(Manager *m, sd_bus_message *msg, const char *address, bool enabled, bool live,
                                  bool was, const char *sent, int result, const char *nlmsg, sd_bus_error *error) {
        Device *d = manager_find_device(m, address);
        StateDevice *s = state_find_device(&m->state, address);
        bool reboot = false;
        int r;

        if (!d || !s)
                return sd_bus_error_setf(error, PT_ERROR_NO_SUCH_DEVICE,
                                         "%s left the bus while passthru.ko was changing it.", address);
        if (enabled) {
                if (sent && result < 0 && result != -EEXIST)
                        log_warning_errno(result, "passthru.ko refused HIDE %s (%s), ignoring: %m", sent, nlmsg ?: "");
                (void) device_refresh(d);
                if (d->sys.driver && !device_driver_is(d, PT_STUB_DRIVER)) {
                        if (live) {
                                r = take_from_host_driver(m, msg, d, error);
                                if (r > 0)
                                        d->configuring = true;
                                return r;
                        }
                        reboot = true;
                }
                manager_refresh_module(m);
        } else if (sent) {
                if (result < 0 && result != -ENOENT)
                        log_warning_errno(result, "passthru.ko refused UNHIDE %s (%s), ignoring: %m", sent,
                                          nlmsg ?: "");
                /* Another rule (an administrator's modprobe.d, say) may still hold it: then undo. */
                manager_refresh_module(m);
                if (d->module_rule[0]) {
                        _cleanup_free_ char *again = strdup(d->module_rule);

                        if (result >= 0 && m->nl) {
                                int k = ptnl_hide(m->nl, sent, NULL);

                                if (k < 0)
                                        log_error_errno(k, "Cannot put rule %s back into passthru.ko: %m", sent);
                        }
                        put_back_mark(m, s, was);
                        manager_refresh_module(m);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                                 "%s is still hidden by passthru.ko's rule '%s' after dropping '%s': "
                                                 "change passthru.hide= or passthru.ids= where it is set and reboot.",
                                                 d->address, again ?: "?", sent);
                }
        }

        if (reboot && !m->reboot_required) {
                m->reboot_required = true;
                manager_send_changed(m, "RebootRequired");
        }
        manager_refresh_device(m, d->address);
        return sd_bus_reply_method_return(msg, "b", reboot);
}

/*
 * SetPassthrough's HIDE or UNHIDE: passthru.ko answers once it has claimed
 * a device without a driver (its probe resets it) or given one back to its
 * host driver (that driver's probe), which may take seconds; so the request
 * is made from a worker's thread, on a socket of its own, and
 * SetPassthrough goes on when it is answered.  The device is "configuring"
 * meanwhile: another change of it, and Acquire, are refused.
 */
typedef struct MarkJob {
        Manager *m;
        sd_bus_message *msg;
        char address[PCI_ADDRESS_LEN];
        char rule[PASSTHRU_RULE_MAX + 8];
        bool enabled, live, was;
        int result;             /* the module's answer */
        char *nlmsg;            /* its explanation of a refusal */
} MarkJob;

static void mark_job_free(MarkJob *job) {
        sd_bus_message_unref(job->msg);
        free(job->nlmsg);
        free(job);
}

static int mark_run(void *userdata) {
        MarkJob *job = userdata;
        _cleanup_(ptnl_closep) PtNetlink *nl = NULL;
        int r;

        r = ptnl_open(&nl);
        if (r >= 0)
                r = job->enabled ? ptnl_hide(nl, job->rule, &job->nlmsg) : ptnl_unhide(nl, job->rule, &job->nlmsg);
        job->result = r;
        return r;
}

static void mark_done(int result, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        MarkJob *job = userdata;
        Device *d = manager_find_device(job->m, job->address);
        int r;

        (void) result;
        if (d)
                d->configuring = false;
        r = set_passthrough_finish(job->m, job->msg, job->address, job->enabled, job->live, job->was, job->rule,
                                   job->result, job->nlmsg, &error);
        if (r < 0)
                (void) (sd_bus_error_is_set(&error) ? sd_bus_reply_method_error(job->msg, &error)
                                                    : sd_bus_reply_method_errno(job->msg, r, NULL));
        mark_job_free(job);
}

static int mark_start(Manager *m, sd_bus_message *msg, Device *d, const char *rule, bool enabled, bool live,
                      bool was) {
        MarkJob *job;
        int r;

        job = calloc(1, sizeof(*job));
        if (!job)
                return -ENOMEM;
        *job = (MarkJob) { .m = m, .msg = sd_bus_message_ref(msg), .enabled = enabled, .live = live, .was = was };
        snprintf(job->address, sizeof(job->address), "%s", d->address);
        snprintf(job->rule, sizeof(job->rule), "%s", rule);
        r = worker_submit(m->worker, mark_run, mark_done, job);
        if (r < 0) {
                mark_job_free(job);
                return r;
        }
        d->configuring = true;
        return 0;
}

/*
 * Root's method on a member of a staged group: the group goes back to
 * passthru first, where the method expects an idle device (stage.h).
 */
static void unstage_for(Device *d, const char *method) {
        if (d->stage)
                (void) stage_unstage(d->stage, method);
}

static int method_set_passthrough(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *what = NULL;
        Manager *m = userdata;
        const char *arg;
        int enabled, live = false, force = false;
        char rule[PASSTHRU_RULE_MAX + 8];
        StateDevice *s, before;
        Device *d;
        bool was;
        int r;

        r = bouncer_check(m, msg, NULL, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "sb", &arg, &enabled);
        if (r < 0)
                return r;
        r = read_options(msg, (const MethodOption[]) { { "Live", 'b', &live, NULL }, { "Force", 'b', &force, NULL } }, 2, error);
        if (r < 0)
                return r;

        r = lookup_device_to_configure(m, arg, &d, error);
        if (r < 0)
                return r;
        if (d->lease)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY, "%s is leased to VM '%s' (pid %u).", d->address,
                                         d->lease->vm, (unsigned) d->lease->pid);
        r = check_not_configuring(d, error);
        if (r < 0)
                return r;
        r = check_modprobe_ours(m, error);
        if (r < 0)
                return r;
        unstage_for(d, "root's SetPassthrough");
        /* A PF's VFs live only while its host driver has it. */
        s = state_find_device(&m->state, d->address);
        if (enabled && (d->sys.num_vfs > 0 || (s && s->num_vfs > 0)))
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is a PF with %u VFs (%u set for each start): taking it from its host "
                                         "driver would remove them. Set its VF count to 0 first (SetNumVFs).",
                                         d->address, d->sys.num_vfs, s ? s->num_vfs : 0);
        if (!enabled) {
                manager_refresh_module(m);
                r = check_unmark(m, d, error);
                if (r < 0)
                        return r;
                /* Unmarked, it goes to a host driver: not with what the last VM left in it. */
                if (!force && device_state(d) == DEVICE_QUARANTINED)
                        return sd_bus_error_setf(error, PT_ERROR_QUARANTINED,
                                                 "%s is quarantined: it came back from a VM without a reset trusted "
                                                 "to clear it, and a host driver would get what that VM left in it. "
                                                 "Clear it with Reset first, or pass Force=true to unmark it anyway.",
                                                 d->address);
        }
        /*
         * Every mount, swap, stacked storage and networking included, and
         * the boot console's display (critical.h); unsure is refused too.
         * A new mark without Live as well: passthru.ko would take it at the
         * next boot, from the initramfs, before the root file system.
         */
        if (enabled && !force && (live || !s || !s->passthrough)) {
                r = critical_device_use(m->paths.sysfs, m->paths.proc, d->address, &what);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r,
                                                       "Cannot tell whether %s carries a mounted file system, swap, a default route "
                                                       "or the boot console's display: %m. Pass Force=true to mark it anyway.",
                                                       d->address);
                if (r > 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "%s carries %s: marking it would take that from the host, %s. "
                                                 "Pass Force=true to mark it anyway.", d->address, what,
                                                 live ? "now" : "at the next boot");
        }

        r = state_ensure_device(&m->state, d->address, &s);
        if (r < 0)
                return r;
        was = s->passthrough;
        before = *s;
        s->passthrough = enabled;
        r = save_device_change(m, s, before);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot save the passthrough configuration: %m");

        snprintf(rule, sizeof(rule), "(%s)", d->address);
        /* The module's own text of the rule: it may pin ids. */
        if (!enabled && d->module_rule[0])
                snprintf(rule, sizeof(rule), "%s", d->module_rule);
        if (!m->nl)
                return set_passthrough_finish(m, msg, d->address, enabled, live, was, NULL, 0, NULL, error);
        r = mark_start(m, msg, d, rule, enabled, live, was);
        if (r < 0) {
                /* As if it had not been asked: the files back, the module untouched. */
                put_back_mark(m, state_find_device(&m->state, d->address), was);
                return sd_bus_error_set_errnof(error, r, "Cannot start changing %s in passthru.ko: %m", d->address);
        }
        return 1;
}

/*
 * Writing sriov_numvfs: the PF's driver makes or removes its VFs (~1 s for
 * igb), and removing a VF that someone holds through VFIO waits for him;
 * it runs in a worker and SetNumVFs answers when it is done.
 */
typedef struct NumVfsJob {
        Manager *m;
        sd_bus_message *msg;
        char *sysfs_root;
        char address[PCI_ADDRESS_LEN];
        unsigned n;
        unsigned before;        /* the count the state file gave before: put back if the write fails */
        bool hide_refused;      /* passthru.ko refused the VFs' rule: nothing was written */
        char *nlmsg;            /* the module's explanation */
} NumVfsJob;

static void num_vfs_job_free(NumVfsJob *job) {
        sd_bus_message_unref(job->msg);
        free(job->sysfs_root);
        free(job->nlmsg);
        free(job);
}

/* Take the rule of @pf's VFs out of passthru.ko through @nl (that it is not there is fine). */
static void unhide_vfs_on(PtNetlink *nl, const char *pf) {
        _cleanup_free_ char *nlmsg = NULL;
        char rule[SRIOV_RULE_LEN];
        int r;

        sriov_vf_rule(pf, rule);
        r = ptnl_unhide(nl, rule, &nlmsg);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "passthru.ko refused UNHIDE %s (%s), ignoring: %m", rule, nlmsg ?: "");
}

/*
 * The VFs' rule first, so that passthru.ko pins each VF as it appears,
 * before its host driver can bind it; the module claims (and resets) the
 * VFs that exist already, which is why this is the worker's, on a netlink
 * socket of its own.  The rule goes again when the count cannot be written
 * and this job put it there.
 */
static int num_vfs_run(void *userdata) {
        NumVfsJob *job = userdata;
        _cleanup_(ptnl_closep) PtNetlink *nl = NULL;
        char rule[SRIOV_RULE_LEN];
        bool hid = false;
        int r;

        if (job->n > 0) {
                sriov_vf_rule(job->address, rule);
                r = ptnl_open(&nl);
                if (r >= 0)
                        r = ptnl_hide(nl, rule, &job->nlmsg);
                if (r < 0 && r != -EEXIST) {
                        job->hide_refused = true;
                        return r;
                }
                hid = r >= 0;
        }
        r = sysfs_set_num_vfs(job->sysfs_root, job->address, job->n);
        if (r < 0 && hid)
                unhide_vfs_on(nl, job->address);
        return r;
}

/* Take the rule of @pf's VFs out of passthru.ko (that it is not there is fine). */
static void unhide_vfs(Manager *m, const char *pf) {
        if (m->nl)
                unhide_vfs_on(m->nl, pf);
}

/*
 * A SetNumVFs of @n on @pf that fails after its count was saved leaves
 * nothing for the next start: the saved count back to @before (unless a
 * later call changed it), and the files with it.  (The job took the VFs'
 * rule out of passthru.ko again when it had put it there.)
 */
static void set_num_vfs_undo(Manager *m, const char *pf, unsigned n, unsigned before) {
        StateDevice *s = state_find_device(&m->state, pf);
        int r;

        if (s && s->num_vfs == n) {
                s->num_vfs = before;
                put_back_modprobe(m);
                r = manager_save_state(m);
                if (r < 0)
                        log_error_errno(r, "Cannot put back the state in %s: %m", m->paths.state_dir);
        }
}

static void num_vfs_done(int result, void *userdata) {
        NumVfsJob *job = userdata;
        Manager *m = job->m;
        Device *pf = manager_find_device(m, job->address);

        if (pf)
                pf->sriov_busy = false;
        /* No VF left: their rule goes too, from the module (the files no longer name it), unless the boot's. */
        if (result >= 0 && job->n == 0 && !sriov_vf_rule_is_the_cmdlines(m, job->address))
                unhide_vfs(m, job->address);
        if (result < 0 && job->hide_refused) {
                char rule[SRIOV_RULE_LEN];

                set_num_vfs_undo(m, job->address, job->n, job->before);
                sriov_vf_rule(job->address, rule);
                log_error_errno(result, "passthru.ko refused HIDE %s (%s): %m", rule, job->nlmsg ?: "");
                (void) sd_bus_reply_method_errnof(job->msg, -result, "passthru.ko refused HIDE %s (%s): %m", rule,
                                                  job->nlmsg ?: "");
        } else if (result < 0) {
                set_num_vfs_undo(m, job->address, job->n, job->before);
                log_error_errno(result, "Cannot set the VF count of %s to %u: %m", job->address, job->n);
                (void) sd_bus_reply_method_errnof(job->msg, -result, "Cannot set the VF count of %s to %u: %m",
                                                  job->address, job->n);
        } else {
                log_info("%s now has %u VFs", job->address, job->n);
                (void) sd_bus_reply_method_return(job->msg, NULL);
        }
        manager_refresh_module(m);
        manager_refresh_device(m, job->address);
        num_vfs_job_free(job);
}

static int method_set_num_vfs(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *arg;
        StateDevice *s, before;
        NumVfsJob *job;
        uint32_t n;
        Device *d;
        int r;

        r = bouncer_check(m, msg, NULL, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "su", &arg, &n);
        if (r < 0)
                return r;
        r = manager_lookup_device(m, arg, &d, error);
        if (r < 0)
                return r;
        /* Not read while leased or resetting (see method_reset()): sriov_check_set() refuses those. */
        if (!d->lease && !d->resetting)
                (void) device_refresh(d);
        /* The leases first: they say who must let go, whatever the mode. */
        r = sriov_check_set(m, d, n, error);
        if (r < 0)
                return r;
        r = lookup_device_to_configure(m, arg, &d, error);
        if (r < 0)
                return r;
        r = check_not_configuring(d, error);
        if (r < 0)
                return r;
        r = check_modprobe_ours(m, error);
        if (r < 0)
                return r;

        r = state_ensure_device(&m->state, d->address, &s);
        if (r < 0)
                return r;
        before = *s;
        s->num_vfs = n;
        r = save_device_change(m, s, before);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot save the VF count: %m");
        /* The VFs' rule (n > 0) and the count, in the worker (num_vfs_run()). */
        job = calloc(1, sizeof(*job));
        if (job) {
                *job = (NumVfsJob) { .m = m, .msg = sd_bus_message_ref(msg), .sysfs_root = strdup(m->sysfs_root),
                                     .n = n, .before = before.num_vfs };
                snprintf(job->address, sizeof(job->address), "%s", d->address);
        }
        r = job && job->sysfs_root ? worker_submit(m->worker, num_vfs_run, num_vfs_done, job) : -ENOMEM;
        if (r < 0) {
                if (job)
                        num_vfs_job_free(job);
                set_num_vfs_undo(m, d->address, n, before.num_vfs);
                return sd_bus_error_set_errnof(error, r, "Cannot start setting the VF count of %s: %m", d->address);
        }
        d->sriov_busy = true;
        return 1;
}

static int method_assign(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        bool assign = strcmp(sd_bus_message_get_member(msg), "Assign") == 0;
        _cleanup_strv_free_ char **old = NULL;
        Manager *m = userdata;
        const char *arg, *vm;
        StateDevice *s;
        Device *d;
        int r;

        r = bouncer_check(m, msg, NULL, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "ss", &arg, &vm);
        if (r < 0)
                return r;
        r = check_vm_name(vm, error);
        if (r < 0)
                return r;
        r = lookup_device_to_configure(m, arg, &d, error);
        if (r < 0)
                return r;
        r = state_ensure_device(&m->state, d->address, &s);
        if (r < 0)
                return r;
        old = strv_copy(s->assignments);
        if (!old)
                return -ENOMEM;
        if (assign && !strv_contains(s->assignments, vm))
                r = strv_extend(&s->assignments, vm);
        else if (!assign)
                (void) strv_remove(s->assignments, vm);
        if (r >= 0)
                r = manager_save_state(m);
        if (r < 0) {
                /* Not on disk, not in force: the old assignments stay. */
                strv_free(s->assignments);
                s->assignments = TAKE_PTR(old);
                return sd_bus_error_set_errnof(error, r, "Cannot save the assignments: %m");
        }
        device_send_assignments_changed(m, d);
        return sd_bus_reply_method_return(msg, NULL);
}

typedef struct ResetJob {
        Manager *m;
        sd_bus_message *msg;
        char *sysfs_root;
        char address[13];
        ResetChain chain;
} ResetJob;

static ResetJob *reset_job_free(ResetJob *job) {
        sd_bus_message_unref(job->msg);
        reset_chain_done(&job->chain);
        free(job->sysfs_root);
        free(job);
        return NULL;
}

static int reset_run(void *userdata) {
        ResetJob *job = userdata;
        int r;

        /* The same chain as between two owners: strongest first, until a trusted one works. */
        r = reset_chain_run(&job->chain, job->sysfs_root, job->address, NULL, NULL);
        if (r != -ENOTTY && r != -ENODEV)
                (void) sysfs_set_bus_master(job->sysfs_root, job->address, false);
        return r;
}

static void reset_done(int result, void *userdata) {
        ResetJob *job = userdata;
        Device *d = manager_find_device(job->m, job->address);
        _cleanup_free_ char *why = NULL;

        if (!d) {
                (void) sd_bus_reply_method_errorf(job->msg, PT_ERROR_NO_SUCH_DEVICE, "%s went away during its reset.",
                                                  job->address);
                reset_job_free(job);
                return;
        }
        d->resetting = false;
        if (device_note_reset(d, &job->chain, job->m->paths.config_file) < 0)
                log_error("Out of memory: the reset results of %s are not recorded", d->address);
        device_send_reset_changed(job->m, d);
        why = device_reset_explain(d, result);
        if (result >= 0) {
                if (d->quarantined && manager_set_quarantined(job->m, d, false) < 0) {
                        /* Lifted in memory only, a restart would quarantine it again: not lifted. */
                        log_warning("Reset %s, but it stays quarantined: the list could not be written",
                                    job->address);
                        (void) sd_bus_reply_method_errorf(job->msg, SD_BUS_ERROR_IO_ERROR,
                                                          "Reset %s, but it stays quarantined: the quarantine list in "
                                                          "%s could not be written.", job->address,
                                                          job->m->paths.runtime_dir);
                        reset_job_free(job);
                        return;
                }
                manager_refresh_device(job->m, job->address);
                log_info("Reset %s (%s)", job->address, why ?: "");
                (void) sd_bus_reply_method_return(job->msg, NULL);
        } else if (result == -ENODEV)
                (void) sd_bus_reply_method_errorf(job->msg, PT_ERROR_NO_SUCH_DEVICE, "%s went away during its reset.",
                                                  job->address);
        else {
                /* A failed Reset leaves the state as it was: quarantined stays so, available too. */
                log_warning("Reset of %s not enough%s: %s", job->address, d->quarantined ? ", it stays quarantined" : "",
                            why ?: "out of memory");
                (void) sd_bus_reply_method_errorf(job->msg, PT_ERROR_RESET_FAILED, "Resetting %s: %s.", job->address,
                                                  why ?: "out of memory");
        }
        reset_job_free(job);
}

static int method_reset(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        DeviceState st;
        ResetJob *job;
        Device *d;
        int r;

        r = read_device_call(m, msg, NULL, &d, error);
        if (r < 0)
                return r;
        /* A leased or resetting device is refused before it is read: nothing to read it for. */
        if (d->lease)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY, "%s is leased to VM '%s'.", d->address,
                                         d->lease->vm);
        if (d->resetting)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY, "%s is being reset already.", d->address);
        if (d->configuring || d->sriov_busy)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is being changed by an earlier %s: ask again when it has answered.",
                                         d->address, d->configuring ? "SetPassthrough" : "SetNumVFs");
        unstage_for(d, "root's Reset");
        /* The reset methods are the kernel's to change (sysfs reset_method). */
        (void) device_refresh(d);
        st = device_state(d);
        if (st == DEVICE_LEASED || st == DEVICE_RELEASING)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY, "%s is leased to VM '%s'.", d->address,
                                         d->lease ? d->lease->vm : "?");
        if (st != DEVICE_AVAILABLE && st != DEVICE_QUARANTINED)
                return sd_bus_error_setf(error, PT_ERROR_NOT_PASSTHROUGH, "%s is not kept by passthru (state %s).",
                                         d->address, device_state_to_string(st));
        if (d->resetting)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY, "%s is being reset already.", d->address);
        job = calloc(1, sizeof(*job));
        if (!job)
                return -ENOMEM;
        job->m = m;
        job->msg = sd_bus_message_ref(msg);
        job->sysfs_root = strdup(m->sysfs_root);
        snprintf(job->address, sizeof(job->address), "%s", d->address);
        r = job->sysfs_root ? reset_chain_init(&job->chain, d->sys.reset_methods, &m->config, d->sys.vendor,
                                               d->sys.device) : -ENOMEM;
        if (r >= 0)
                r = worker_submit(m->worker, reset_run, reset_done, job);
        if (r < 0) {
                reset_job_free(job);
                return r;
        }
        /* Acquire waits: the group must not move to vfio-pci under the reset. */
        d->resetting = true;
        return 1;       /* the reply comes from reset_done() */
}

static int method_maintenance(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        bool enter = strcmp(sd_bus_message_get_member(msg), "EnterMaintenanceMode") == 0;
        Manager *m = userdata;
        int r;

        r = bouncer_check(m, msg, NULL, error);
        if (r < 0)
                return r;
        if (enter && m->n_leases > 0) {
                if (!m->maintenance_asked) {
                        log_info("Maintenance mode asked for with %zu lease(s) active: no new lease until it is "
                                 "entered or left", m->n_leases);
                        m->maintenance_asked = true;
                        manager_send_changed(m, "MaintenanceRequested");
                }
                return sd_bus_error_setf(error, PT_ERROR_LEASES_ACTIVE,
                                         "%zu lease(s) active: release them (or revoke them with Release), then call "
                                         "EnterMaintenanceMode again; no new lease is granted meanwhile "
                                         "(ExitMaintenanceMode lifts that).", m->n_leases);
        }
        /* In maintenance mode every idle device is on passthru: passthru.ko's to update or unload. */
        if (enter)
                stage_unstage_all(m, "maintenance mode");
        if (m->state.maintenance != enter) {
                m->state.maintenance = enter;
                r = manager_save_state(m);
                if (r < 0) {
                        m->state.maintenance = !enter;
                        return sd_bus_error_set_errnof(error, r, "Cannot save the state: %m");
                }
                log_info("%s maintenance mode", enter ? "Entered" : "Left");
                manager_send_changed(m, "MaintenanceMode");
        }
        if (m->maintenance_asked) {
                m->maintenance_asked = false;   /* entered, or root changed its mind */
                manager_send_changed(m, "MaintenanceRequested");
        }
        return sd_bus_reply_method_return(msg, NULL);
}

/* ---- properties ---- */

static int property_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        bool b = false;

        (void) bus;
        (void) path;
        (void) interface;
        (void) error;
        if (strcmp(property, "MaintenanceMode") == 0)
                b = m->state.maintenance;
        else if (strcmp(property, "MaintenanceRequested") == 0)
                b = m->maintenance_asked;
        else if (strcmp(property, "RebootRequired") == 0)
                b = m->reboot_required;
        else if (strcmp(property, "IommuEnabled") == 0)
                b = m->iommu_enabled;
        return sd_bus_message_append(reply, "b", b);
}

static int property_u32(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t u = 0;

        (void) bus;
        (void) path;
        (void) interface;
        (void) error;
        if (strcmp(property, "ActiveLeases") == 0)
                u = manager_active_leases(m);
        else if (strcmp(property, "MaxDevicesPerVm") == 0)
                u = m->config.max_devices_per_vm;
        else if (strcmp(property, "MaxActiveDevices") == 0)
                u = m->config.max_active_devices;
        return sd_bus_message_append(reply, "u", u);
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        (void) bus;
        (void) path;
        (void) interface;
        (void) property;
        (void) userdata;
        (void) error;
        return sd_bus_message_append(reply, "s", PT_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("MaintenanceMode", "b", property_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MaintenanceRequested", "b", property_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RebootRequired", "b", property_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IommuEnabled", "b", property_bool, 0, 0),
        SD_BUS_PROPERTY("ActiveLeases", "u", property_u32, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MaxDevicesPerVm", "u", property_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MaxActiveDevices", "u", property_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssso)", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", device), SD_BUS_RESULT("o", path),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Acquire", SD_BUS_ARGS("s", device, "s", vm, "a{sv}", options),
                                SD_BUS_RESULT("h", group_fd), method_acquire, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("s", device), SD_BUS_NO_RESULT,
                                method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPassthrough", SD_BUS_ARGS("s", device, "b", enabled, "a{sv}", options),
                                SD_BUS_RESULT("b", reboot_required), method_set_passthrough, 0),
        SD_BUS_METHOD_WITH_ARGS("SetNumVFs", SD_BUS_ARGS("s", device, "u", count), SD_BUS_NO_RESULT,
                                method_set_num_vfs, 0),
        SD_BUS_METHOD_WITH_ARGS("Assign", SD_BUS_ARGS("s", device, "s", vm), SD_BUS_NO_RESULT,
                                method_assign, 0),
        SD_BUS_METHOD_WITH_ARGS("Unassign", SD_BUS_ARGS("s", device, "s", vm), SD_BUS_NO_RESULT,
                                method_assign, 0),
        SD_BUS_METHOD_WITH_ARGS("Reset", SD_BUS_ARGS("s", device), SD_BUS_NO_RESULT,
                                method_reset, 0),
        SD_BUS_METHOD("EnterMaintenanceMode", NULL, NULL, method_maintenance, 0),
        SD_BUS_METHOD("ExitMaintenanceMode", NULL, NULL, method_maintenance, 0),
        SD_BUS_SIGNAL_WITH_ARGS("LeaseAcquired", SD_BUS_ARGS("s", device, "s", vm, "u", pid), 0),
        SD_BUS_SIGNAL_WITH_ARGS("LeaseRevoked", SD_BUS_ARGS("s", device, "s", vm, "u", pid), 0),
        SD_BUS_SIGNAL_WITH_ARGS("LeaseReleased", SD_BUS_ARGS("s", device, "s", vm, "s", reason), 0),
        SD_BUS_VTABLE_END
};

int manager_bus_add_objects(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(bus, NULL, PT_MANAGER_PATH);
        if (r < 0)
                return r;
        return device_bus_setup(m, bus);
}

int manager_bus_publish(Manager *m, sd_bus *bus) {
        int r;

        m->bus = sd_bus_ref(bus);
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = sd_bus_error_add_map(pt_error_map);
        if (r < 0)
                return log_error_errno(r, "Cannot register the error names: %m");
        r = manager_bus_add_objects(m, m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot publish the manager and the devices: %m");
        return 0;
}

int manager_bus_setup(Manager *m) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_default_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        /* dbus-daemon restarted: the event loop ends with a failure, systemd
         * restarts passthrud (Restart=on-failure) and the ledger gives the new
         * one every lease; off the bus, nobody could call Release. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return log_error_errno(r, "Cannot ask to exit when the bus goes away: %m");
        r = manager_bus_publish(m, bus);
        if (r < 0)
                return r;
        /* Before the name: no caller can be older than the watch and unknown to it. */
        r = bouncer_watch_peers(m, m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot follow the bus's connections: %m");
        r = sd_bus_request_name(m->bus, PT_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot take the bus name %s: %m", PT_BUS_NAME);
        return 0;
}
