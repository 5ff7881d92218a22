/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A manager's paths inside a fake sysfs tree (fake-sysfs.h): /proc, /dev,
 * the configuration, the state and runtime directories and the direct
 * socket all under @root, the directories made.  Only the configuration
 * file is never written.
 */
#pragma once

#include <stdlib.h>

#include "fake-sysfs.h"
#include "manager.h"

typedef struct FakeManagerPaths {
        char *proc, *dev, *config_file, *modprobe_file, *state_dir, *runtime_dir, *direct_socket;
        ManagerPaths paths;
} FakeManagerPaths;

static inline void fake_manager_paths(const char *root, FakeManagerPaths *f) {
        f->proc = fake_path(root, "proc");
        f->dev = fake_path(root, "dev");
        f->config_file = fake_path(root, "etc/passthru/passthru.conf");
        f->modprobe_file = fake_path(root, "etc/modprobe.d/passthru.conf");
        f->state_dir = fake_path(root, "var/lib/passthru");
        f->runtime_dir = fake_path(root, "run/passthru");
        f->direct_socket = fake_path(root, "run/passthru.sock");
        fake_mkdir_p(root, "dev/vfio");
        fake_mkdir_p(root, "var/lib/passthru");
        fake_mkdir_p(root, "run/passthru");
        f->paths = (ManagerPaths) {
                .sysfs = root,
                .proc = f->proc,
                .dev = f->dev,
                .config_file = f->config_file,
                .modprobe_file = f->modprobe_file,
                .state_dir = f->state_dir,
                .runtime_dir = f->runtime_dir,
        };
}

static inline void fake_manager_paths_free(FakeManagerPaths *f) {
        free(f->proc);
        free(f->dev);
        free(f->config_file);
        free(f->modprobe_file);
        free(f->state_dir);
        free(f->runtime_dir);
        free(f->direct_socket);
}
