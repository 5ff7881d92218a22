/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes for unit tests to find and kill: include after cmocka.h. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * A child that waits, with every fd the test has open now; with
 * @grandchild, it forks one first.  Returns after both exist.
 */
static inline pid_t spawn(bool grandchild, pid_t *ret_grandchild) {
        int p[2];
        pid_t pid, gc = 0;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                if (grandchild) {
                        gc = fork();
                        if (gc == 0) {
                                for (;;)
                                        pause();
                        }
                }
                (void) !write(p[1], &gc, sizeof(gc));
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &gc, sizeof(gc)), (ssize_t) sizeof(gc));
        close(p[0]);
        if (ret_grandchild)
                *ret_grandchild = gc;
        return pid;
}
