/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The names tables of include/passthru-names.h (PT_DEVICE_STATES, PT_ERRORS,
 * PT_LEASE_REASONS) as the daemon and passthructl use them: the daemon's
 * DeviceState names, its sd-bus error map, passthructl's colours, the
 * reasons.  (tests/unit/docs.py holds
 * docs/DESIGN.md to the same tables.)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <systemd/sd-bus.h>

#include "device.h"
#include "macro.h"
#include "manager-dbus.h"
#include "output.h"
#include "passthru-names.h"

static const struct {
        DeviceState state;
        const char *name;
        bool colored;
} states[] = {
#define TONE_COLORED_GOOD true
#define TONE_COLORED_BUSY true
#define TONE_COLORED_BAD true
#define TONE_COLORED_PLAIN false
#define STATE_ROW_(id, name, tone) { DEVICE_##id, name, TONE_COLORED_##tone },
        PT_DEVICE_STATES(STATE_ROW_)
#undef STATE_ROW_
};

static const struct {
        const char *name;
        const char *tail;
        int error;
} errors[] = {
#define ERROR_ROW_(id, tail, errno_) { PT_ERROR_##id, tail, errno_ },
        PT_ERRORS(ERROR_ROW_)
#undef ERROR_ROW_
};

static void every_state_has_its_own_name_in_the_daemon(void **state) {
        (void) state;
        assert_int_equal(ELEMENTSOF(states), _DEVICE_STATE_MAX);
        for (size_t i = 0; i < ELEMENTSOF(states); i++) {
                assert_int_equal(states[i].state, i);
                assert_string_equal(device_state_to_string(states[i].state), states[i].name);
                assert_true(strlen(states[i].name) > 0);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(states[i].name, states[j].name);
        }
        assert_null(device_state_to_string(_DEVICE_STATE_MAX));
        assert_string_equal(device_state_to_string(DEVICE_QUARANTINED), PT_DEVICE_STATE_QUARANTINED);
}

static void passthructl_colours_every_state_by_its_tone(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(states); i++) {
                const char *escape = state_escape(states[i].name);

                if (states[i].colored)
                        assert_true(escape[0] == '\033');
                else
                        assert_string_equal(escape, "");
        }
        assert_string_equal(state_escape(PT_DEVICE_STATE_AVAILABLE), "\033[32m");
        assert_string_equal(state_escape("no-such-state"), "");
        assert_string_equal(state_escape(NULL), "");
}

static void every_error_is_mapped_to_its_errno_and_back(void **state) {
        size_t n_map = 0;

        (void) state;
        for (const sd_bus_error_map *m = pt_error_map; m->name; m++)
                n_map++;
        assert_int_equal(n_map, ELEMENTSOF(errors));
        assert_int_equal(sd_bus_error_add_map(pt_error_map), 1);
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                size_t n = 0;

                assert_true(strncmp(errors[i].name, PT_ERROR_PREFIX, strlen(PT_ERROR_PREFIX)) == 0);
                assert_string_equal(errors[i].name + strlen(PT_ERROR_PREFIX), errors[i].tail);
                /* The name is a valid D-Bus error name (sd-bus refuses others), and the map gives its errno. */
                assert_int_equal(sd_bus_error_set(&e, errors[i].name, "x"), -errors[i].error);
                assert_int_equal(sd_bus_error_get_errno(&e), errors[i].error);
                for (const sd_bus_error_map *m = pt_error_map; m->name; m++)      /* SD_BUS_ERROR_MAP_END has none */
                        if (strcmp(m->name, errors[i].name) == 0)
                                n++;
                assert_int_equal(n, 1);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(errors[i].name, errors[j].name);
        }
}

static void every_lease_reason_has_its_own_name(void **state) {
        static const char *const reasons[] = {
#define REASON_ROW_(id, name) PT_LEASE_REASON_##id,
                PT_LEASE_REASONS(REASON_ROW_)
#undef REASON_ROW_
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(reasons); i++) {
                assert_true(strlen(reasons[i]) > 0);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(reasons[i], reasons[j]);
        }
        assert_string_equal(PT_LEASE_REASON_PROCESS_EXITED, "process-exited");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_state_has_its_own_name_in_the_daemon),
                cmocka_unit_test(passthructl_colours_every_state_by_its_tone),
                cmocka_unit_test(every_error_is_mapped_to_its_errno_and_back),
                cmocka_unit_test(every_lease_reason_has_its_own_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
