/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl run: lease devices and supervise the hypervisor that uses
 * them. passthructl holds the leases; they end when it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "client.h"
#include "macro.h"
#include "passthructl.h"
#include "strv.h"

/* The command, to which passthructl forwards SIGINT, SIGTERM and SIGHUP. */
static pid_t child_pid;

static void forward_signal(int sig) {
        if (child_pid > 0)
                kill(child_pid, sig);
}

/* qemu opens /dev/vfio/N itself; other commands get the group fds. */
static bool command_opens_node(const char *cmd) {
        const char *base = strrchr(cmd, '/');

        base = base ? base + 1 : cmd;
        return strncmp(base, "qemu-system-", 12) == 0;
}

int verb_run(sd_bus *bus, char **args) {
        _cleanup_strv_free_ char **groups = calloc(1, sizeof(char *)), **fds = calloc(1, sizeof(char *));
        _cleanup_free_ char *groups_env = NULL, *fds_env = NULL;
        bool open_node;
        pid_t parent_pid;
        int status, r;

        /* main() checked that there are --vm and --device, and put each device as passthrud names it. */
        if (!groups || !fds)
                return -ENOMEM;
        open_node = arg_open_node >= 0 ? arg_open_node : command_opens_node(args[0]);

        for (char **d = arg_devices; *d; d++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                char num[16];
                int fd;

                r = get_device_group(bus, *d, num, sizeof(num));
                if (r < 0)
                        return r;
                if (strv_contains(groups, num))
                        continue;       /* same IOMMU group: one lease covers both */
                if (open_node)
                        r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, arg_vm, arg_memory > 0 ? 2 : 1,
                                 "DeviceNodeOwner", "u", (uint32_t) getuid(), "MemoryBytes", "t", arg_memory);
                else if (arg_memory > 0)
                        r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, arg_vm, 1, "MemoryBytes", "t",
                                 arg_memory);
                else
                        r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, arg_vm, 0);
                if (r < 0)
                        return r;
                if (sd_bus_message_read(reply, "h", &fd) < 0 || (fd = fcntl(fd, F_DUPFD, 3)) < 0) {
                        fprintf(stderr, "passthructl: no group fd in the answer\n");
                        return -EBADMSG;
                }
                if (open_node)
                        close(fd);      /* the VMM opens /dev/vfio/N itself */
                else {
                        char fdnum[16];
                        snprintf(fdnum, sizeof(fdnum), "%d", fd);
                        if (strv_extend(&fds, fdnum) < 0)
                                return -ENOMEM;
                }
                if (strv_extend(&groups, num) < 0)
                        return -ENOMEM;
                fprintf(stderr, "Leased %s (IOMMU group %s) for VM %s%s\n", *d, num, arg_vm,
                        open_node ? ", /dev/vfio node handed to you" : "");
        }
        groups_env = strv_join(groups, " ");
        fds_env = strv_join(fds, " ");
        if (!groups_env || !fds_env)
                return -ENOMEM;
        setenv("PASSTHRU_GROUPS", groups_env, 1);
        setenv("PASSTHRU_GROUP_FDS", fds_env, 1);
        setenv("PASSTHRU_VM", arg_vm, 1);
        /*
         * The leases are this process's, not the connection's: let it go, so
         * that nothing queues up for it while the VMM runs (passthrud drops a
         * direct connection that does not read what it is sent).
         */
        sd_bus_close(bus);

        /*
         * passthructl stays the lease holder: the lease ends when it exits.
         * The VMM dies with it (a revocation that kills the holder ends the
         * VMM too), and whatever the VMM forks stays below passthructl, where
         * passthrud looks for the group's holders.
         */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                fprintf(stderr, "passthructl: cannot become a subreaper, ignoring: %m\n");
        parent_pid = getpid();
        child_pid = fork();
        if (child_pid < 0) {
                r = -errno;
                fprintf(stderr, "passthructl: fork: %m\n");
                return r;
        }
        if (child_pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent_pid)
                        _exit(127);     /* passthructl is already gone: so is the lease */
                execvp(args[0], args);
                fprintf(stderr, "passthructl: cannot run %s: %m\n", args[0]);
                _exit(127);
        }
        signal(SIGINT, forward_signal);
        signal(SIGTERM, forward_signal);
        signal(SIGHUP, forward_signal);
        while (waitpid(child_pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
