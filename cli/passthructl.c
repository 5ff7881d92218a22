/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl: manage PCI passthrough through passthrud's D-Bus API.
 * A client of org.passthru1 only; see passthructl(1).
 *
 * This file is main(): the verb table, the options and the exit status.
 * The verbs are in verbs.c, check.c and run.c; the bus client in client.c.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "client.h"
#include "fileio.h"
#include "macro.h"
#include "passthructl.h"
#include "strv.h"

/* The options each verb takes; any other given is refused (main()). */
typedef enum VerbOption {
        OPT_JSON = 1 << 0,
        OPT_LIVE = 1 << 1,
        OPT_FORCE = 1 << 2,
        OPT_RUN = 1 << 3,               /* --device --vm --memory --open-node --pass-fd */
        OPT_NO_LEGEND = 1 << 4,
        _OPT_COUNT = 5,
} VerbOption;

static unsigned arg_given = 0;
static const char *arg_given_name[_OPT_COUNT];

/*
 * What a verb's arguments are, a character each, the last one standing for
 * any more.  All but ARG_ANY are checked before passthructl connects, so
 * that a mistyped one is a usage error (exit 2) whether passthrud is there
 * or not.
 */
#define ARG_ANY '.'             /* what passthrud (or libvirt) checks */
#define ARG_DEVICE 'd'          /* a PCI address, sent as passthrud names it (parse_address()) */
#define ARG_VFS 'n'             /* a number of VFs */
#define ARG_MAINTENANCE 'm'     /* enter, exit or status */
#define ARG_COMMAND 'c'         /* a command, from the verb's first word that is no option on, untouched */

typedef struct Verb {
        const char *name;
        int min_args, max_args;         /* -1: any */
        const char *arguments;          /* ARG_* */
        int (*run)(sd_bus *bus, char **args);   /* a status >= 0, or a negative errno */
        const char *usage;
        const char *help;
        unsigned options;               /* VerbOption */
} Verb;

static const Verb verbs[] = {
        { "list", 0, 0, "", verb_list, "list", "List devices, their state, driver and owner",
          OPT_JSON | OPT_NO_LEGEND },
        { "show", 1, 1, "d", verb_show, "show DEVICE", "Show everything about one device", OPT_JSON },
        { "check", 0, 0, "", verb_check, "check", "Can this host pass devices through? IOMMU, VFIO, each group",
          OPT_JSON },
        { "hide", 1, 1, "d", verb_hide, "hide [--live] [--force] DEVICE", "Mark a device for passthrough (maintenance mode)",
          OPT_LIVE | OPT_FORCE },
        { "unhide", 1, 1, "d", verb_unhide, "unhide [--force] DEVICE", "Unmark a device (maintenance mode)", OPT_FORCE },
        { "sriov", 2, 2, "dn", verb_sriov, "sriov PF COUNT", "Set an SR-IOV PF's VF count, each VF hidden (maintenance mode)", 0 },
        { "maintenance", 1, 1, "m", verb_maintenance, "maintenance enter|exit|status", "Enter, leave or show maintenance mode", OPT_JSON },
        { "assign", 2, 2, "d.", verb_assign, "assign DEVICE VM", "Allow VM to lease DEVICE (maintenance mode)", 0 },
        { "unassign", 2, 2, "d.", verb_unassign, "unassign DEVICE VM", "Take that permission back (maintenance mode)", 0 },
        { "release", 1, 1, "d", verb_release, "release DEVICE", "End a lease (root revokes another holder's)", 0 },
        { "reset", 1, 1, "d", verb_reset, "reset DEVICE", "Reset an available or quarantined device", 0 },
        { "monitor", 0, 0, "", verb_monitor, "monitor", "Print lease and device events as they happen", 0 },
        { "run", 1, -1, "c", verb_run, "run --device D [--device D2] --vm NAME [--memory SIZE] [--] COMMAND...",
          "Lease devices and run a hypervisor with them", OPT_RUN },
};

/* Run by libvirt, not by hand (passthructl(1)): not in --help; each connects to the bus when it needs it. */
static const Verb internal_verbs[] = {
        { "libvirt-hook", 4, 4, "....", verb_libvirt_hook, "libvirt-hook DOMAIN OPERATION SUBOPERATION EXTRA",
          "libvirt's QEMU hook: lease a domain's passthru hostdevs (docs/libvirt.md)", 0 },
        { "libvirt-hold", 2, -1, "..", verb_libvirt_hold, "libvirt-hold DOMAIN DEVICE...",
          "Hold the leases of a libvirt domain (started by libvirt-hook)", 0 },
};

static void help(void) {
        printf("passthructl [OPTIONS] COMMAND ...\n\nManage PCI passthrough with passthrud.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-40s %s\n", verbs[i].usage, verbs[i].help);
        printf("\nOptions:\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version\n"
               "     --json          list, show, check, maintenance status: print JSON\n"
               "     --no-legend     list: no header line\n"
               "     --live          hide: take the device from its host driver now\n"
               "     --force         hide: even the device of a mounted file system, swap, a default route or the boot\n"
               "                     console's display; unhide: even a quarantined one\n"
               "  -d --device=ADDR   run: a device to lease (repeatable)\n"
               "     --vm=NAME       run: the VM name\n"
               "  -m --memory=SIZE   run: memory the VM pins (raises RLIMIT_MEMLOCK): bytes, or K, M, G, T, e.g. 2G\n"
               "     --open-node     run: hand /dev/vfio/N to the command instead of an fd (automatic for qemu-system-*)\n"
               "     --pass-fd       run: pass the group fds (their numbers in $PASSTHRU_GROUP_FDS)\n"
               "\nExit status: 0 ok, 1 failed, 2 usage, 3 check found a problem, 4 denied,\n"
               "5 no such device, 6 passthrud not reachable; run passes its command's (127: it cannot be run).\n"
               "See passthructl(1).\n");
}

/*
 * A size as passthru.conf's MaxMemoryBytes= takes it: bytes, or with a K, M,
 * G or T suffix (powers of 1024; k, m, g, t too).  -EINVAL for anything
 * else, a sign too ("-1" is no 2^64-1); -ERANGE above 2^64-1 bytes.
 */
static int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "kmgt";
        const char *suffix;
        unsigned shift = 0;
        unsigned long long v;
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end && (suffix = strchr(suffixes, tolower((unsigned char) *end)))) {
                shift = 10 * (unsigned) (suffix - suffixes + 1);
                end++;
        }
        if (*end)
                return -EINVAL;
        if (v > UINT64_MAX >> shift)
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

static void note_option(VerbOption o, const char *name) {
        arg_given |= o;
        for (unsigned i = 0; i < _OPT_COUNT; i++)
                if (o == 1u << i && !arg_given_name[i])
                        arg_given_name[i] = name;
}

/* The name of an option given that @verb does not take, or NULL. */
static const char *option_not_for(const Verb *verb) {
        unsigned extra = arg_given & ~verb->options;

        for (unsigned i = 0; i < _OPT_COUNT; i++)
                if (extra & (1u << i))
                        return arg_given_name[i];
        return NULL;
}

/*
 * The options of argv[1..] that @shortopts' getopt_long() takes, from
 * optind = 0: "+..." stops at the first word that is no option, else the
 * others are moved behind them.  1 to go on, 0 when --help or --version
 * was answered, or -EINVAL.
 */
static int parse_options(int argc, char *argv[], const char *shortopts) {
        enum { ARG_JSON = 0x100, ARG_LIVE, ARG_FORCE, ARG_VM, ARG_OPEN_NODE, ARG_PASS_FD, ARG_VERSION, ARG_NO_LEGEND };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "live", no_argument, NULL, ARG_LIVE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "device", required_argument, NULL, 'd' },
                { "vm", required_argument, NULL, ARG_VM },
                { "memory", required_argument, NULL, 'm' },
                { "open-node", no_argument, NULL, ARG_OPEN_NODE },
                { "pass-fd", no_argument, NULL, ARG_PASS_FD },
                {}
        };
        int c, r;

        optind = 0;
        opterr = 0;     /* the complaints below name passthructl and the word, not argv[0]'s path */
        while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
                switch (c) {
                case ':':
                        fprintf(stderr, "passthructl: option '%s' needs a value; see --help\n", argv[optind - 1]);
                        return -EINVAL;
                case '?':
                        if (strncmp(argv[optind - 1], "--", 2) != 0)
                                fprintf(stderr, "passthructl: unknown option '-%c'%s; see --help\n", optopt,
                                        optopt >= '0' && optopt <= '9' ? " (a number is no option: put '--' before it)" : "");
                        else if (optopt != 0)           /* one of ours, given a value */
                                fprintf(stderr, "passthructl: option '%.*s' takes no value; see --help\n",
                                        (int) strcspn(argv[optind - 1], "="), argv[optind - 1]);
                        else
                                fprintf(stderr, "passthructl: unknown option '%s' (or the start of more than one); "
                                        "see --help\n", argv[optind - 1]);
                        return -EINVAL;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("passthructl %s\n", PT_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        note_option(OPT_JSON, "--json");
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        note_option(OPT_NO_LEGEND, "--no-legend");
                        break;
                case ARG_LIVE:
                        arg_live = true;
                        note_option(OPT_LIVE, "--live");
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        note_option(OPT_FORCE, "--force");
                        break;
                case 'd':
                        note_option(OPT_RUN, "--device");
                        if (strv_extend(&arg_devices, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_VM:
                        note_option(OPT_RUN, "--vm");
                        arg_vm = optarg;
                        break;
                case 'm':
                        note_option(OPT_RUN, "--memory");
                        r = parse_size(optarg, &arg_memory);
                        if (r == -ERANGE)
                                fprintf(stderr, "passthructl: --memory '%s' is more than 2^64-1 bytes\n", optarg);
                        else if (r < 0)
                                fprintf(stderr, "passthructl: bad --memory '%s': bytes, or with a K, M, G or T suffix "
                                        "(e.g. 512M, 2G)\n", optarg);
                        if (r < 0)
                                return -EINVAL;
                        break;
                case ARG_OPEN_NODE:
                        note_option(OPT_RUN, "--open-node");
                        arg_open_node = 1;
                        break;
                case ARG_PASS_FD:
                        note_option(OPT_RUN, "--pass-fd");
                        arg_open_node = 0;
                        break;
                default:
                        return -EINVAL;
                }
        }
        return 1;
}

/* The one place an errno becomes an exit status (passthructl.h, passthructl(1)). */
static int exit_status(int r) {
        if (r >= 0)
                return r;
        switch (r) {
        case -EINVAL:
                return EXIT_USAGE;
        case -EACCES:
                return EXIT_DENIED;
        case -ENODEV:
                return EXIT_NO_DEVICE;
        case -EHOSTDOWN:
                return EXIT_NO_DAEMON;
        default:
                return EXIT_FAILED;
        }
}

/* Addresses that check_arguments() put in place of what was given. */
static char **arg_addresses = NULL;

/* A device argument as passthrud names it, in place of @arg. */
static int normalize_device(char **arg) {
        char address[ADDRESS_MAX];
        int r = parse_address(*arg, address);

        if (r < 0)
                return r;
        if (strv_extend(&arg_addresses, address) < 0)
                return -ENOMEM;
        *arg = arg_addresses[strv_length(arg_addresses) - 1];
        return 0;
}

/* @verb's arguments and run's --vm and --device, as ARG_* says; -EINVAL, said on stderr. */
static int check_arguments(const Verb *verb, char **args) {
        _cleanup_strv_free_ char **devices = NULL;
        uint64_t n;
        int r;

        for (size_t i = 0; args[i]; i++) {
                size_t k = strlen(verb->arguments);
                char kind = k == 0 ? ARG_ANY : verb->arguments[i < k ? i : k - 1];

                if (kind == ARG_COMMAND)
                        break;
                if (kind == ARG_DEVICE && (r = normalize_device(&args[i])) < 0)
                        return r;
                if (kind == ARG_VFS && parse_uint64(args[i], UINT32_MAX, &n) < 0) {
                        fprintf(stderr, "passthructl: '%s' is not a number of VFs\n", args[i]);
                        return -EINVAL;
                }
                if (kind == ARG_MAINTENANCE && strcmp(args[i], "enter") != 0 && strcmp(args[i], "exit") != 0 &&
                    strcmp(args[i], "status") != 0) {
                        fprintf(stderr, "passthructl: maintenance takes enter, exit or status, not '%s'\n", args[i]);
                        return -EINVAL;
                }
        }
        if ((verb->options & OPT_RUN) && (!arg_vm || !arg_devices)) {
                fprintf(stderr, "passthructl: %s needs --vm NAME and at least one --device\n", verb->name);
                return -EINVAL;
        }
        for (size_t i = 0; arg_devices && arg_devices[i]; i++) {
                char address[ADDRESS_MAX];

                r = parse_address(arg_devices[i], address);
                if (r < 0)
                        return r;
                if (strv_extend(&devices, address) < 0)
                        return -ENOMEM;
        }
        strv_free(arg_devices);
        arg_devices = TAKE_PTR(devices);
        return 0;
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        for (size_t i = 0; i < ELEMENTSOF(internal_verbs); i++)
                if (strcmp(internal_verbs[i].name, name) == 0)
                        return &internal_verbs[i];
        return NULL;
}

/*
 * The options before the verb, then the verb's: anywhere among its
 * arguments, but for a verb that runs a command (run), up to its first word
 * that is no option, or "--": from there on the words are the command's,
 * its own -m too.  Sets *ret_verb and *ret_args (NULL-terminated, in argv).
 */
static int parse_argv(int argc, char *argv[], const Verb **ret_verb, char ***ret_args) {
        const Verb *verb;
        char *verb_name;
        int at, r, n;

        r = parse_options(argc, argv, "+:hd:m:");
        if (r <= 0)
                return r;
        if (optind >= argc) {
                help();
                return -EINVAL;
        }
        at = optind;
        verb = find_verb(argv[at]);
        if (!verb) {
                fprintf(stderr, "passthructl: unknown command '%s'; see --help\n", argv[at]);
                return -EINVAL;
        }
        /* getopt_long() names argv[0] in its complaints: passthructl, not the verb. */
        verb_name = argv[at];
        argv[at] = argv[0];
        r = parse_options(argc - at, argv + at, verb->arguments[0] == ARG_COMMAND ? "+:hd:m:" : ":hd:m:");
        argv[at] = verb_name;
        if (r <= 0)
                return r;
        n = argc - at - optind;
        if (n < verb->min_args || (verb->max_args >= 0 && n > verb->max_args)) {
                fprintf(stderr, "passthructl: usage: passthructl %s\n", verb->usage);
                return -EINVAL;
        }
        *ret_verb = verb;
        *ret_args = argv + at + optind;
        return 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        char **args = NULL;
        int r;

        r = parse_argv(argc, argv, &verb, &args);
        if (r <= 0)
                return r;
        if (option_not_for(verb)) {
                fprintf(stderr, "passthructl: %s does not apply to '%s'; usage: passthructl %s\n", option_not_for(verb),
                        verb->name, verb->usage);
                return -EINVAL;
        }
        r = check_arguments(verb, args);
        if (r < 0)
                return r;
        if (verb >= internal_verbs && verb < internal_verbs + ELEMENTSOF(internal_verbs))
                return verb->run(NULL, args);
        /* run's command is found before anything else, passthrud reachable or not (passthructl(1): 127). */
        if (verb->run == verb_run && (r = run_check_command(args)) != 0)
                return r;
        r = connect_bus(&bus);
        /* check inspects the host first, and says what it could without passthrud. */
        if (r < 0 && verb->run != verb_check)
                return r;
        return verb->run(bus, args);
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        strv_free(arg_devices);
        strv_free(arg_addresses);
        return exit_status(r);
}
