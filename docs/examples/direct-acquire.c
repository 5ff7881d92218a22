/* SPDX-License-Identifier: MIT-0 */
/*
 * Lease a PCI device from passthrud over its own socket and keep it while
 * this process lives: the least a VMM needs (docs/direct.md).
 *
 *   cc -o direct-acquire direct-acquire.c $(pkg-config --cflags --libs libsystemd)
 *   ./direct-acquire 0000:01:00.0 my-vm [GUEST_RAM_BYTES]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

int main(int argc, char *argv[]) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        uint64_t ram = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
        int r, fd;

        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: %s DEVICE VM [GUEST_RAM_BYTES]\n", argv[0]);
                return 2;
        }
        /* Peer-to-peer D-Bus: no bus daemon in between, no Hello. */
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, "unix:path=/run/passthru.sock");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                /* No socket (an older passthrud): the same call works on the system bus. */
                fprintf(stderr, "cannot connect to /run/passthru.sock: %s\n", strerror(-r));
                return 1;
        }
        /*
         * Acquire(s device, s vm, a{sv} options) -> h: the VFIO group fd.
         * MemoryBytes raises this process's RLIMIT_MEMLOCK so that it can pin
         * the guest's RAM (VFIO charges pinned pages to the mapping process).
         */
        if (ram > 0)
                r = sd_bus_call_method(bus, "org.passthru1", "/org/passthru1", "org.passthru1.Manager", "Acquire",
                                       &error, &reply, "ssa{sv}", argv[1], argv[2], 1, "MemoryBytes", "t", ram);
        else
                r = sd_bus_call_method(bus, "org.passthru1", "/org/passthru1", "org.passthru1.Manager", "Acquire",
                                       &error, &reply, "ssa{sv}", argv[1], argv[2], 0);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", error.name ?: "error", error.message ?: strerror(-r));
                return 1;
        }
        r = sd_bus_message_read(reply, "h", &fd);
        /* The message owns the fd it carries: keep a copy. */
        fd = r < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
        sd_bus_message_unref(reply);
        if (fd < 0) {
                fprintf(stderr, "no group fd in the answer\n");
                return 1;
        }
        printf("VFIO group fd %d for %s\n", fd, argv[1]);
        fflush(stdout);
        /*
         * Here a VMM sets up its container with fd (VFIO_GROUP_SET_CONTAINER,
         * VFIO_GROUP_GET_DEVICE_FD) and runs the guest.  The lease is this
         * process's: it ends with Release, or when the process exits.  A
         * LeaseRevoked(device, vm, pid) signal on this connection says root
         * wants the device back: let go within the grace period.
         */
        pause();
        sd_bus_flush_close_unref(bus);
        return 0;
}
