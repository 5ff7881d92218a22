/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "device.h"
#include "device-dbus.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "passthru-names.h"
#include "stage.h"
#include "strv.h"
#include "sysfs.h"

int stage_new(Manager *m, int group, char *const *devices, int fd) {
        _cleanup_close_ int node = fd;
        Stage *s;

        if (!devices || !devices[0])
                return -EINVAL;
        for (char *const *a = devices; *a; a++) {
                const Device *d = manager_find_device(m, *a);

                if (!d)
                        return -ENODEV;
                if (d->stage)
                        return -EBUSY;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->devices = strv_copy((char **) devices);
        if (!s->devices) {
                free(s);
                return -ENOMEM;
        }
        s->manager = m;
        s->group = group;
        s->fd = TAKE_FD(node);
        for (char **a = s->devices; *a; a++)
                manager_find_device(m, *a)->stage = s;
        return 0;
}

/* No member points at @s any more; it still has its fd and its list. */
static void stage_detach(Stage *s) {
        for (char **a = s->devices; *a; a++) {
                Device *d = manager_find_device(s->manager, *a);

                if (d && d->stage == s)
                        d->stage = NULL;
        }
}

/* The members' pointers cleared, and the stage's memory freed; its fd is the caller's. */
static void stage_forget(Stage *s) {
        stage_detach(s);
        strv_free(s->devices);
        free(s);
}

void stage_free(Stage *s) {
        if (!s)
                return;
        safe_close(s->fd);
        stage_forget(s);
}

int stage_take(Stage *s) {
        int fd = TAKE_FD(s->fd);

        stage_forget(s);
        return fd;
}

bool stage_covers(const Device *d, char *const *endpoints) {
        size_t n = 0;

        if (!d->stage || !endpoints)
                return false;
        for (char *const *a = endpoints; *a; a++, n++) {
                const Device *o = manager_find_device(d->stage->manager, *a);

                if (!o || o->stage != d->stage)
                        return false;
        }
        return n == strv_length(d->stage->devices);
}

int stage_unstage(Stage *s, const char *why) {
        Manager *m = s->manager;
        size_t n = strv_length(s->devices);
        _cleanup_free_ int *unbound = calloc(n, sizeof(int));
        _cleanup_strv_free_ char **devices = NULL;
        _cleanup_close_ int node = -EBADF;
        int ret = 0;

        if (!unbound)
                return log_error_errno(-ENOMEM, "Cannot take IOMMU group %d off its stage: %m", s->group);
        /* Out of the stage first: a member's quarantine below must not come back here. */
        node = TAKE_FD(s->fd);
        stage_detach(s);
        devices = TAKE_PTR(s->devices);
        log_info("IOMMU group %d goes back to " PT_STUB_DRIVER " from its stage (%s)", s->group, why);
        free(s);

        /* Unbound while the node is held: no device fd of the group exists, so vfio-pci's unbind cannot wait. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *driver = NULL;
                Device *d = manager_find_device(m, devices[i]);
                int r;

                /* Gone, or moved by someone else (as read now): its own event says. */
                if (!d || sysfs_pci_driver(m->sysfs_root, devices[i], &driver) < 0 || !driver ||
                    strcmp(driver, PT_VFIO_DRIVER) != 0) {
                        unbound[i] = -ENODEV;
                        continue;
                }
                /*
                 * VFs made behind passthrud's back (vfio-pci's enable_sriov), or a cdev: the unbind
                 * could wait for fds the node does not keep away, and the loop must not.  Left there.
                 */
                r = sysfs_unbind_waits_beyond_group(m->sysfs_root, devices[i]) ? -EBUSY :
                        sysfs_unbind_from(m->sysfs_root, PT_VFIO_DRIVER, devices[i]);
                unbound[i] = r;
                if (r < 0 && r != -ENODEV) {
                        log_warning_errno(r, "%s stays on " PT_VFIO_DRIVER " (it has VFs or a device cdev now, or "
                                          "its unbind failed): foreign there, and quarantined: %m", devices[i]);
                        d->foreign_seen = true;         /* its VFs may be someone's: no Reset of it there */
                        (void) manager_set_quarantined(m, d, true);
                        if (ret == 0)
                                ret = r;
                }
        }
        node = safe_close(node);
        for (size_t i = 0; i < n; i++) {
                Device *d = manager_find_device(m, devices[i]);
                int r;

                if (unbound[i] < 0 || !d)
                        continue;
                r = sysfs_bind_to(m->sysfs_root, devices[i], PT_STUB_DRIVER);
                if (r < 0) {
                        log_warning_errno(r, "%s was reset, but binding it to " PT_STUB_DRIVER
                                          " failed; quarantined: %m", devices[i]);
                        (void) manager_set_quarantined(m, d, true);
                        if (ret == 0)
                                ret = r;
                } else
                        (void) device_note_driver(d, PT_STUB_DRIVER);
                device_send_changed(m, d);
                manager_refresh_later(m, devices[i]);
        }
        return ret;
}

void stage_unstage_all(Manager *m, const char *why) {
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i]->stage)
                        (void) stage_unstage(m->devices[i]->stage, why);
}

bool stage_alive(const Stage *s) {
        struct vfio_group_status status = { .argsz = sizeof(status) };

        return ioctl(s->fd, VFIO_GROUP_GET_STATUS, &status) >= 0;
}

bool stage_end_if_dead(Stage *s) {
        Manager *m = s->manager;

        if (stage_alive(s))
                return false;
        log_warning("IOMMU group %d is not the one passthrud staged any more (its members left vfio-pci behind "
                    "passthrud's back, or were bound to it again): foreign while another tool may have them, "
                    "quarantined for when they are back on passthru", s->group);
        /* Off the stage first, so that the quarantines do not try to move it back. */
        stage_detach(s);
        for (char **a = s->devices; *a; a++) {
                Device *d = manager_find_device(m, *a);

                /* As any device another tool took: foreign on vfio-pci (root's Reset refuses it there). */
                if (d) {
                        d->foreign_seen = true;
                        (void) manager_set_quarantined(m, d, true);
                }
        }
        stage_free(s);
        return true;
}

void stage_check(Device *d, int r) {
        Manager *m = d->manager;

        if (!d->stage)
                return;
        /* Removed: the rest back to passthru (a one-member group's node died with it: nothing to move). */
        if (r == -ENODEV) {
                (void) stage_unstage(d->stage, "a member was removed");
                return;
        }
        if (stage_end_if_dead(d->stage))
                return;
        if (device_driver_is(d, PT_VFIO_DRIVER))
                return;
        (void) stage_unstage(d->stage, "a member left vfio-pci behind passthrud's back");
        log_warning("%s left vfio-pci behind passthrud's back while staged: quarantined until root's Reset",
                    d->address);
        (void) manager_set_quarantined(m, d, true);
}

