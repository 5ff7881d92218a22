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
#include <sys/stat.h>
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

/* @sig to each child of this process (what the command left behind, reparented here). */
static void signal_children(int sig) {
        char path[64];
        FILE *f;
        int pid;

        snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int) getpid());
        f = fopen(path, "re");
        if (!f)
                return;
        while (fscanf(f, "%d", &pid) == 1)
                if (pid > 0)
                        kill(pid, sig);
        fclose(f);
}

/*
 * After the command: what it left running (a VMM that daemonized, forking
 * and letting its parent exit) came to passthructl, the subreaper, and may
 * hold the groups still.  passthructl stays the holder until the last of
 * them exits, and forwards SIGINT, SIGTERM and SIGHUP to them meanwhile.
 */
static void wait_for_the_rest(void) {
        sigset_t set, saved;
        siginfo_t info;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, &saved);
        for (;;) {
                pid_t pid;

                while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
                        ;
                if (pid < 0 && errno == ECHILD)
                        break;
                if (sigwaitinfo(&set, &info) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (info.si_signo != SIGCHLD)
                        signal_children(info.si_signo);
        }
        sigprocmask(SIG_SETMASK, &saved, NULL);
}

/* qemu opens /dev/vfio/N itself; other commands get the group fds. */
static bool command_opens_node(const char *cmd) {
        const char *base = strrchr(cmd, '/');

        base = base ? base + 1 : cmd;
        return strncmp(base, "qemu-system-", 12) == 0;
}

/* @path is a file this process may execute: 0, or -errno. */
static int executable(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return access(path, X_OK) < 0 ? -errno : 0;
}

/*
 * Whether execvp() can find @cmd: a path as it is, a bare name in $PATH (or
 * glibc's default, /bin:/usr/bin, without one).  0, or the -errno of the
 * reason; a file found only without the right to run it is -EACCES.
 */
static int command_runnable(const char *cmd) {
        const char *path = getenv("PATH") ?: "/bin:/usr/bin";
        int r = -ENOENT;

        if (!*cmd)
                return -ENOENT;
        if (strchr(cmd, '/'))
                return executable(cmd);
        for (const char *p = path;; p++) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *file = NULL;

                if (asprintf(&file, "%.*s%s%s", (int) n, p, n ? "/" : "", cmd) < 0)
                        return -ENOMEM;
                if (executable(file) == 0)
                        return 0;
                if (access(file, F_OK) == 0)
                        r = -EACCES;
                p += n;
                if (!*p)
                        return r;
        }
}

int run_check_command(char **args) {
        int r = command_runnable(args[0]);

        if (r < 0) {
                fprintf(stderr, "passthructl: cannot run %s: %s; nothing was leased\n", args[0], strerror(-r));
                return EXIT_CANNOT_RUN;
        }
        return 0;
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
        /*
         * A command that cannot be run is found out before any lease: a lease
         * that ends unused still sends its group through the reset chain, and
         * a device no trusted method resets would be quarantined by a typo.
         */
        r = run_check_command(args);
        if (r != 0)
                return r;
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
                _exit(EXIT_CANNOT_RUN);
        }
        signal(SIGINT, forward_signal);
        signal(SIGTERM, forward_signal);
        signal(SIGHUP, forward_signal);
        while (waitpid(child_pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        child_pid = 0;
        wait_for_the_rest();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
