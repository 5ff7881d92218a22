/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <unistd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

#define USEC_PER_SEC ((uint64_t) 1000000)

int config_init(Config *c) {
        char *group = strdup(CONFIG_DEFAULT_GROUP);

        if (!group)
                return -ENOMEM;
        *c = (Config) {
                .group = group,
                .revoke_grace_usec = CONFIG_DEFAULT_REVOKE_GRACE_SEC * USEC_PER_SEC,
                .max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS,
                .max_connections_per_user = CONFIG_DEFAULT_MAX_CONNECTIONS_PER_USER,
                .stage_idle_groups = true,
        };
        return 0;
}

void config_done(Config *c) {
        free(c->group);
        for (size_t i = 0; i < c->n_reset_pins; i++)
                free(c->reset_pins[i].method);
        free(c->reset_pins);
        for (size_t i = 0; i < c->n_trusts; i++)
                strv_free(c->trusts[i].methods);
        free(c->trusts);
        *c = (Config) {};
}

const char *config_reset_method(const Config *c, uint16_t vendor, uint16_t device) {
        for (size_t i = 0; i < c->n_reset_pins; i++)
                if (c->reset_pins[i].vendor == vendor && c->reset_pins[i].device == device)
                        return c->reset_pins[i].method;
        return NULL;
}

const char *const config_known_reset_methods[] = {
        "flr", "af_flr", "bus", "device_specific", "acpi", "cxl_bus", "pm", NULL,
};

const char *const config_trusted_reset_methods[] = { "flr", "af_flr", "bus", NULL };

bool config_reset_trusted(const Config *c, uint16_t vendor, uint16_t device, const char *method) {
        if (!method)
                return false;
        if (strv_contains((char **) config_trusted_reset_methods, method))
                return true;
        for (size_t i = 0; i < c->n_trusts; i++)
                if (c->trusts[i].vendor == vendor && c->trusts[i].device == device)
                        return strv_contains(c->trusts[i].methods, method);
        return false;
}

bool group_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 31)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* Exactly four hex digits, either case. */
static int parse_id(const char *s, size_t n, uint16_t *ret) {
        unsigned v = 0;

        if (n != 4)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = (uint16_t) v;
        return 0;
}

/* 0 if @method is one the kernel knows; else the reason, naming them, for a line of [@section]. */
static int check_reset_method(const char *section, uint16_t vendor, uint16_t device, const char *method,
                              char **reason) {
        _cleanup_free_ char *known = NULL;

        if (strv_contains((char **) config_known_reset_methods, method))
                return 0;
        known = strv_join((char **) config_known_reset_methods, ", ");
        if (!known)
                return -ENOMEM;
        return ini_reason(reason, "[%s] %04x:%04x: not a reset method: '%s' (one of %s)", section, vendor, device,
                          method, known);
}

static int config_set_pin(Config *c, uint16_t vendor, uint16_t device, const char *method) {
        ConfigResetPin *pins;
        char *m;

        m = strdup(method);
        if (!m)
                return -ENOMEM;

        /* A line for the same ids replaces the one before (passthru.conf(5)). */
        for (size_t i = 0; i < c->n_reset_pins; i++)
                if (c->reset_pins[i].vendor == vendor && c->reset_pins[i].device == device) {
                        free(c->reset_pins[i].method);
                        c->reset_pins[i].method = m;
                        return 0;
                }

        pins = reallocarray(c->reset_pins, c->n_reset_pins + 1, sizeof(ConfigResetPin));
        if (!pins) {
                free(m);
                return -ENOMEM;
        }
        c->reset_pins = pins;
        c->reset_pins[c->n_reset_pins++] = (ConfigResetPin) {
                .vendor = vendor,
                .device = device,
                .method = m,
        };
        return 0;
}

/*
 * A [Reset] or [Trust] line, "8086:10d3=bus": libinih splits at the first
 * '=' or ':', so the key is the vendor and the value "10d3=bus".  *ret_rest
 * is what follows the '=' and any blanks; -EINVAL when the ids do not parse.
 */
static int parse_ids_line(const char *key, const char *value, uint16_t *ret_vendor, uint16_t *ret_device,
                          const char **ret_rest) {
        size_t n = strspn(value, "0123456789abcdefABCDEF");
        const char *rest = value + n;

        rest += strspn(rest, " \t");
        if (parse_id(key, strlen(key), ret_vendor) < 0 || parse_id(value, n, ret_device) < 0 || *rest != '=')
                return -EINVAL;
        rest++;
        *ret_rest = rest + strspn(rest, " \t");
        return 0;
}

/*
 * The line libinih split into @key and @value, for a message: it split at
 * the first ':' or '=', and the ids' ':' is the one written unless the value
 * holds no '=' and starts with a reset method ("8086=bus").
 */
static const char *ids_line_separator(const char *value) {
        size_t n = strcspn(value, " \t");

        if (strchr(value, '='))
                return ":";
        for (const char *const *m = config_known_reset_methods; *m; m++)
                if (strlen(*m) == n && strncmp(*m, value, n) == 0)
                        return "=";
        return ":";
}

static int config_parse_reset(Config *c, const char *key, const char *value, char **reason) {
        uint16_t vendor, device;
        const char *method;
        int r;

        if (parse_ids_line(key, value, &vendor, &device, &method) < 0)
                return ini_reason(reason, "[Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got '%s%s%s'",
                                  key, ids_line_separator(value), value);

        r = check_reset_method("Reset", vendor, device, method, reason);
        if (r < 0)
                return r;

        return config_set_pin(c, vendor, device, method);
}

static int config_set_trust(Config *c, uint16_t vendor, uint16_t device, char **methods) {
        ConfigTrust *t;

        for (size_t i = 0; i < c->n_trusts; i++)
                if (c->trusts[i].vendor == vendor && c->trusts[i].device == device) {
                        strv_free(c->trusts[i].methods);
                        c->trusts[i].methods = methods;
                        return 0;
                }

        t = reallocarray(c->trusts, c->n_trusts + 1, sizeof(ConfigTrust));
        if (!t) {
                strv_free(methods);
                return -ENOMEM;
        }
        c->trusts = t;
        c->trusts[c->n_trusts++] = (ConfigTrust) {
                .vendor = vendor,
                .device = device,
                .methods = methods,
        };
        return 0;
}

/* "8086:10d3=pm" or "8086:10d3=pm device_specific", split as in [Reset]. */
static int config_parse_trust(Config *c, const char *key, const char *value, char **reason) {
        _cleanup_strv_free_ char **methods = NULL;
        uint16_t vendor, device;
        const char *list;

        if (parse_ids_line(key, value, &vendor, &device, &list) < 0)
                return ini_reason(reason, "[Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got '%s%s%s'",
                                  key, ids_line_separator(value), value);

        methods = strv_split(list);
        if (!methods)
                return -ENOMEM;
        if (!methods[0])
                return ini_reason(reason, "[Trust] %04x:%04x: no reset method named", vendor, device);
        for (char **i = methods; *i; i++) {
                int r = check_reset_method("Trust", vendor, device, *i, reason);

                if (r < 0)
                        return r;
        }

        return config_set_trust(c, vendor, device, TAKE_PTR(methods));
}

static int config_parse_unsigned(const char *key, const char *value, uint64_t max,
                                 uint64_t *ret, char **reason) {
        int r;

        r = parse_uint64(value, max, ret);
        if (r == -ERANGE)
                return ini_reason(reason, "%s: out of range (0..%" PRIu64 "): '%s'", key, max, value);
        if (r < 0)
                return ini_reason(reason, "%s: not a number: '%s'", key, value);
        return 0;
}

/* "4096", "512M", "2g": bytes, or with a binary suffix; -ERANGE past 2^64-1 bytes. */
static int parse_size(const char *value, uint64_t *ret) {
        static const char suffixes[] = "KMGT";
        _cleanup_free_ char *digits = strdup(value);
        const char *s;
        unsigned shift = 0;
        uint64_t v;
        size_t n;
        int r;

        if (!digits)
                return -ENOMEM;
        n = strlen(digits);
        /* k, m, g, t too, as passthructl's --memory takes them. */
        if (n > 0 && (s = strchr(suffixes, toupper((unsigned char) digits[n - 1])))) {
                shift = 10 * (unsigned) (s - suffixes + 1);
                digits[n - 1] = '\0';
        }
        r = parse_uint64(digits, UINT64_MAX >> shift, &v);
        if (r < 0)
                return r;
        *ret = v << shift;
        return 0;
}

uint64_t config_max_memory_bytes(const Config *c) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

        if (c->max_memory_bytes > 0)
                return c->max_memory_bytes;
        if (pages <= 0 || size <= 0)
                return 0;
        return (uint64_t) pages * (uint64_t) size;
}

typedef enum DaemonKey {
        DAEMON_GROUP,
        DAEMON_MAX_DEVICES_PER_VM,
        DAEMON_MAX_ACTIVE_DEVICES,
        DAEMON_MAX_CONNECTIONS,
        DAEMON_MAX_CONNECTIONS_PER_USER,
        DAEMON_REVOKE_GRACE_SEC,
        DAEMON_ALLOW_UNSAFE_INTERRUPTS,
        DAEMON_MAX_MEMORY_BYTES,
        DAEMON_STAGE_IDLE_GROUPS,
        _DAEMON_KEY_MAX,
} DaemonKey;

static const char *const daemon_keys[_DAEMON_KEY_MAX] = {
        [DAEMON_GROUP] = "Group",
        [DAEMON_MAX_DEVICES_PER_VM] = "MaxDevicesPerVm",
        [DAEMON_MAX_ACTIVE_DEVICES] = "MaxActiveDevices",
        [DAEMON_MAX_CONNECTIONS] = "MaxConnections",
        [DAEMON_MAX_CONNECTIONS_PER_USER] = "MaxConnectionsPerUser",
        [DAEMON_REVOKE_GRACE_SEC] = "RevokeGraceSec",
        [DAEMON_ALLOW_UNSAFE_INTERRUPTS] = "AllowUnsafeInterrupts",
        [DAEMON_MAX_MEMORY_BYTES] = "MaxMemoryBytes",
        [DAEMON_STAGE_IDLE_GROUPS] = "StageIdleGroups",
};

/* What config_entry() remembers between lines. */
typedef struct ConfigParse {
        Config *config;
        char *prev_key;                 /* the last entry of this section, NULL at its start */
        unsigned prev_line;
        unsigned daemon_lines[_DAEMON_KEY_MAX]; /* where each [Daemon] key was set, 0 if not */
        unsigned section_lines[3];      /* where [Daemon], [Reset], [Trust] began, 0 if not yet */
} ConfigParse;

static const char * const config_sections[] = { "Daemon", "Reset", "Trust" };

static int config_parse_daemon(Config *c, DaemonKey k, const char *value, char **reason) {
        const char *key = daemon_keys[k];
        uint64_t v;
        int r;

        switch (k) {
        case DAEMON_GROUP: {
                char *g;

                if (!group_name_valid(value))
                        return ini_reason(reason, "Group: not a valid group name: '%s'", value);
                g = strdup(value);
                if (!g)
                        return -ENOMEM;
                free(c->group);
                c->group = g;
                break;
        }
        case DAEMON_MAX_DEVICES_PER_VM:
                r = config_parse_unsigned(key, value, UINT_MAX, &v, reason);
                if (r < 0)
                        return r;
                c->max_devices_per_vm = (unsigned) v;
                break;

        case DAEMON_MAX_ACTIVE_DEVICES:
                r = config_parse_unsigned(key, value, UINT_MAX, &v, reason);
                if (r < 0)
                        return r;
                c->max_active_devices = (unsigned) v;
                break;

        case DAEMON_MAX_CONNECTIONS:
        case DAEMON_MAX_CONNECTIONS_PER_USER:
                r = config_parse_unsigned(key, value, CONFIG_MAX_CONNECTIONS_MAX, &v, reason);
                if (r < 0)
                        return r;
                if (v == 0)
                        return ini_reason(reason, "%s: at least 1: '%s'", key, value);
                if (k == DAEMON_MAX_CONNECTIONS_PER_USER)
                        c->max_connections_per_user = (unsigned) v;
                else
                        c->max_connections = (unsigned) v;
                break;

        case DAEMON_REVOKE_GRACE_SEC:
                r = config_parse_unsigned(key, value, CONFIG_REVOKE_GRACE_SEC_MAX, &v, reason);
                if (r < 0)
                        return r;
                c->revoke_grace_usec = v * USEC_PER_SEC;
                break;

        case DAEMON_ALLOW_UNSAFE_INTERRUPTS:
                if (parse_boolean(value, &c->allow_unsafe_interrupts) < 0)
                        return ini_reason(reason, "AllowUnsafeInterrupts: not a boolean (yes or no): '%s'", value);
                break;

        case DAEMON_STAGE_IDLE_GROUPS:
                if (parse_boolean(value, &c->stage_idle_groups) < 0)
                        return ini_reason(reason, "StageIdleGroups: not a boolean (yes or no): '%s'", value);
                break;

        case DAEMON_MAX_MEMORY_BYTES:
                if (!*value) {
                        c->max_memory_bytes = 0;
                        break;
                }
                r = parse_size(value, &c->max_memory_bytes);
                if (r == -ENOMEM)
                        return r;
                if (r == -ERANGE)
                        return ini_reason(reason, "MaxMemoryBytes: out of range (at most 2^64-1 bytes): '%s'", value);
                if (r < 0)
                        return ini_reason(reason, "MaxMemoryBytes: not a size (bytes, or with K, M, G or T): '%s'",
                                          value);
                break;

        case _DAEMON_KEY_MAX:
                abort();        /* not a key: a bug in the caller */
        }
        return 0;
}

/* A [Daemon] line: a key that no line before set. */
static int config_daemon_entry(ConfigParse *p, const char *key, const char *value, unsigned line, char **reason) {
        for (DaemonKey k = 0; k < _DAEMON_KEY_MAX; k++) {
                if (strcmp(key, daemon_keys[k]) != 0)
                        continue;
                if (p->daemon_lines[k] > 0)
                        return ini_reason(reason, "duplicate key '%s' (also on line %u%s)", key, p->daemon_lines[k],
                                          p->prev_key && strcmp(p->prev_key, key) == 0 ?
                                          "; or, if this line starts with a blank, it was read as more of "
                                          "that line's value" : "");
                p->daemon_lines[k] = line;
                return config_parse_daemon(p->config, k, value, reason);
        }
        return ini_reason(reason, "unknown key '%s' in [Daemon]", key);
}

/*
 * libinih may be built to read a line that starts with a blank as more of
 * the previous key's value (INI_ALLOW_MULTILINE, on in Debian's): it hands
 * over the previous key again, with the whole line as the value.  Such a
 * value holds a ':' or '=' (@delimiters: what this section's values never
 * hold) where libinih would have split a line of its own.
 */
static bool continues_previous_line(const ConfigParse *p, const char *key, const char *value,
                                    const char *delimiters) {
        return p->prev_key && strcmp(p->prev_key, key) == 0 && value[strcspn(value, delimiters)];
}

static int config_entry(void *userdata, const char *section, const char *key, const char *value,
                        unsigned *line, char **reason) {
        ConfigParse *p = userdata;
        bool daemon;
        int r;

        if (!section)
                return 0;               /* end of file */
        if (!key) {
                p->prev_key = mfree(p->prev_key);
                for (size_t i = 0; i < ELEMENTSOF(config_sections); i++) {
                        if (strcmp(section, config_sections[i]) != 0)
                                continue;
                        if (p->section_lines[i] > 0)
                                return ini_reason(reason, "section [%s] given twice (also on line %u): put its "
                                                  "lines under the first", section, p->section_lines[i]);
                        p->section_lines[i] = *line;
                        return 0;
                }
                return ini_reason(reason, "unknown section [%s]", section);
        }

        daemon = strcmp(section, "Daemon") == 0;
        if (continues_previous_line(p, key, value, daemon ? "=:" : ":"))
                return ini_reason(reason, "'%s' starts with a blank, so it was read as more of line %u's value: "
                                  "remove the blanks before it", value, p->prev_line);

        if (daemon)
                r = config_daemon_entry(p, key, value, *line, reason);
        else if (strcmp(section, "Reset") == 0)
                r = config_parse_reset(p->config, key, value, reason);
        else
                r = config_parse_trust(p->config, key, value, reason);
        if (r < 0)
                return r;

        free(p->prev_key);
        p->prev_key = strdup(key);
        if (!p->prev_key)
                return -ENOMEM;
        p->prev_line = *line;
        return 0;
}

/*
 * Group= of @path's @line names @group: warn when no such group exists (yet:
 * the package's sysusers may create it later), since until it does only
 * root can lease devices.
 */
static void warn_missing_group(const char *path, unsigned line, const char *group) {
        errno = 0;
        if (getgrnam(group))
                return;
        /* getgrnam(3): 0, ENOENT, ESRCH, EBADF or EPERM for a name that is not there. */
        switch (errno) {
        case EIO:
        case EINTR:
        case EMFILE:
        case ENFILE:
        case ENOMEM:
        case ERANGE:
                log_warning_errno(-errno, "%s:%u: Group: cannot look up group '%s', ignoring: %m", path, line, group);
                break;
        default:
                log_warning("%s:%u: Group: there is no group '%s': only root can lease devices until group '%s' "
                            "exists", path, line, group, group);
        }
}

int config_load(Config *c, const char *path, char **ret_error) {
        _cleanup_(config_done) Config new = {};
        ConfigParse p = { .config = &new };
        struct stat st;
        int r;

        r = config_init(&new);
        if (r < 0) {
                if (ret_error)
                        *ret_error = NULL;
                return r;
        }

        r = ini_parse_path(path, config_entry, &p, ret_error);
        free(p.prev_key);
        if (r < 0 && r != -ENOENT)
                return r;
        /* A link to a file that is not there (not mounted yet, renamed) is not "no settings". */
        if (r == -ENOENT && lstat(path, &st) >= 0) {
                if (ret_error && asprintf(ret_error, "%s: a symbolic link to a file that does not exist", path) < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        if (r == -ENOENT)
                log_info("%s: no such file, the defaults apply", path);
        if (p.daemon_lines[DAEMON_GROUP] > 0)
                warn_missing_group(path, p.daemon_lines[DAEMON_GROUP], new.group);

        /* Swap: the old settings go with "new". */
        Config old = *c;
        *c = new;
        new = old;
        return 0;
}
