/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "macro.h"
#include "strv.h"
#include "udev.h"

struct PtUdev {
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *source;
        PtUdevFn fn;
        void *userdata;
};

static int on_monitor(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PtUdev *u = userdata;
        struct udev_device *d;

        (void) s;
        (void) fd;
        (void) revents;
        /* The socket is non-blocking: drain it. */
        while ((d = udev_monitor_receive_device(u->monitor))) {
                const char *subsystem = udev_device_get_subsystem(d);
                const char *action = udev_device_get_action(d);
                const char *name = udev_device_get_sysname(d);

                if (subsystem && action && name)
                        u->fn(subsystem, action, name, u->userdata);
                udev_device_unref(d);
        }
        return 0;
}

int pt_udev_new(sd_event *event, PtUdevFn fn, void *userdata, PtUdev **ret) {
        _cleanup_(pt_udev_freep) PtUdev *u = NULL;
        int r;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->fn = fn;
        u->userdata = userdata;
        u->udev = udev_new();
        if (!u->udev)
                return -errno ?: -ENOMEM;
        /*
         * Kernel uevents, not udevd's: the daemon reads sysfs itself, and
         * must also work where no udevd runs (an initramfs, a container).
         */
        u->monitor = udev_monitor_new_from_netlink(u->udev, "kernel");
        if (!u->monitor)
                return -errno ?: -ENOMEM;
        r = udev_monitor_filter_add_match_subsystem_devtype(u->monitor, "pci", NULL);
        if (r >= 0)
                r = udev_monitor_filter_add_match_subsystem_devtype(u->monitor, "module", NULL);
        if (r >= 0)
                r = udev_monitor_enable_receiving(u->monitor);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &u->source, udev_monitor_get_fd(u->monitor), EPOLLIN, on_monitor, u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(u->source, "udev-monitor");
        *ret = TAKE_PTR(u);
        return 0;
}

PtUdev *pt_udev_free(PtUdev *u) {
        if (!u)
                return NULL;
        sd_event_source_disable_unref(u->source);
        udev_monitor_unref(u->monitor);
        udev_unref(u->udev);
        free(u);
        return NULL;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int pt_udev_enumerate(PtUdev *u, char ***ret) {
        struct udev_enumerate *e;
        struct udev_list_entry *entry;
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        e = udev_enumerate_new(u->udev);
        if (!e)
                return -ENOMEM;
        r = udev_enumerate_add_match_subsystem(e, "pci");
        if (r >= 0)
                r = udev_enumerate_scan_devices(e);
        if (r < 0) {
                udev_enumerate_unref(e);
                return r;
        }
        udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e)) {
                const char *path = udev_list_entry_get_name(entry);
                const char *name = strrchr(path, '/');

                r = strv_extend(&l, name ? name + 1 : path);
                if (r < 0) {
                        udev_enumerate_unref(e);
                        return r;
                }
        }
        udev_enumerate_unref(e);
        qsort(l, strv_length(l), sizeof(char *), compare_strings);
        *ret = TAKE_PTR(l);
        return 0;
}
