/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ptnl-fuzz: throw netlink messages at passthru.ko's generic netlink family
 * and let the kernel's detectors judge.  Raw netlink sockets, no libnl.
 *
 *   ptnl-fuzz [-n COUNT] [-t SECONDS] [-s SEED] [-k SKIP] [-f] [-x]
 *   ptnl-fuzz -d FAMILY-ID [-n COUNT] [-s SEED] [-k SKIP]
 *   ptnl-fuzz -F [-c REQUEST]
 *
 * Each message is, at random, a request built the way a client builds one
 * and then mutated (command, flags, attribute types and payloads, nested
 * attributes, rule texts, lengths that lie, truncated headers, batches of
 * messages, wrong types), pure garbage, a request to nlctrl about the
 * family (GETFAMILY, GETPOLICY), or something done to a socket (a dump
 * closed half read, two dumps at once, a tiny receive buffer, the events
 * group left and joined).  Replies are read until none is left, counted
 * and discarded.  Rules that HIDE accepted are taken back now and then and
 * at the end, so the rule list stays short.
 *
 * The messages depend on the seed only: "-s SEED -k SKIP -n 1 -x" prints
 * message SKIP+1 of a run in hex and sends it alone.  -t stops after that
 * many seconds even if COUNT messages were not sent (the report says how
 * many were).  -d prints the messages a run would send with that family
 * id and sends nothing, on any machine.
 *
 * No message reaches another family: every header the kernel reads names
 * passthru, a control type (< NLMSG_MIN_TYPE) or no family at all, but
 * the well-formed questions to nlctrl about passthru.
 *
 *   -f  fault injection: /proc/thread-self/make-it-fail is set for the time
 *       of each exchange only (sendmsg and the reads of its replies), so
 *       that failslab, with its task filter set by the caller, fails
 *       allocations of what the kernel does for the request, never this
 *       program's exec or page faults
 *   -F  systematic fault injection instead of random messages: for each of
 *       a few valid requests, fail its 1st, 2nd, ... allocation through
 *       /proc/thread-self/fail-nth until it runs without reaching the
 *       failure; each must be done or refused, never half done (HIDE pins
 *       every device it claims with driver_override, or none), and once
 *       undone the GET dump must be what it was before (failslab must not
 *       ignore GFP_KERNEL: ignore-gfp-wait N); -c: only the request of that
 *       name (hide-claims-edu, ...)
 *
 * Output: "sent N, errors by errno: EINVAL n, ...", the rate, replies,
 * "accepted GET=n HIDE=n UNHIDE=n", and with -F one line per request.
 * Exit status: 0 done, 1 setup failed or (-F) a request was half done or
 * left the state changed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/passthru.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define MSG_MAX 32768           /* the largest message sent */
#define RX_MAX 65536
#define ERRNO_MAX 512
#define RULE_TEXT 80
#define ADDED_MAX 32            /* rules HIDE accepted, taken back when full */
#define CLEANUP_EVERY 1000
#define VIEW_MAX 64             /* messages of one sendmsg followed */
#define NO_FAMILY 0x1000        /* types from here on name no family */

/* ---- the generator: splitmix64, so that a seed is a whole run ---- */

static uint64_t rng_state;

static uint64_t rnd64(void) {
        uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n) {
        return n ? (uint32_t) (rnd64() % n) : 0;
}

static bool chance(unsigned percent) {
        return rnd(100) < percent;
}

static void get16(const uint8_t *p, uint16_t *v) {
        memcpy(v, p, sizeof(*v));
}

static void put16(uint8_t *p, uint16_t v) {
        memcpy(p, &v, sizeof(v));
}

static void get32(const uint8_t *p, uint32_t *v) {
        memcpy(v, p, sizeof(*v));
}

static void put32(uint8_t *p, uint32_t v) {
        memcpy(p, &v, sizeof(v));
}

/* ---- messages ---- */

enum {
        KIND_REQUEST,
        KIND_GARBAGE,
        KIND_CTRL,
        KIND_SPECIAL,
};

enum {
        SPECIAL_CLOSE_UNREAD,   /* a GET dump on a socket closed before reading */
        SPECIAL_CLOSE_HALF,     /* ... after one read */
        SPECIAL_TINY_READS,     /* a GET dump read 16 bytes at a time, on a tiny buffer */
        SPECIAL_TWO_DUMPS,      /* a second dump while one runs */
        SPECIAL_HIDE_IN_DUMP,   /* HIDE and UNHIDE between two parts of a dump */
        SPECIAL_GROUP,          /* leave or join the events group */
        SPECIAL_REOPEN,         /* a new main socket, other options */
        _SPECIAL_MAX,
};

typedef struct Msg {
        uint8_t buf[MSG_MAX] __attribute__((aligned(8)));
        size_t len;
        int kind;
        int special;
        uint32_t arg;
        /* where the attributes of the first message are, for lying lengths */
        size_t attr_off[64];
        size_t n_attrs;
} Msg;

static void *put(Msg *m, const void *data, size_t n) {
        void *p;

        if (n > MSG_MAX - m->len)
                n = MSG_MAX - m->len;
        p = m->buf + m->len;
        if (data)
                memcpy(p, data, n);
        else
                memset(p, 0, n);
        m->len += n;
        return p;
}

static void pad(Msg *m, size_t align) {
        size_t n = (align - m->len % align) % align;

        put(m, NULL, n);
}

static size_t begin_nlmsg(Msg *m, uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid) {
        struct nlmsghdr h = {
                .nlmsg_type = type,
                .nlmsg_flags = flags,
                .nlmsg_seq = seq,
                .nlmsg_pid = pid,
        };
        size_t off;

        pad(m, NLMSG_ALIGNTO);
        off = m->len;
        put(m, &h, sizeof(h));
        return off;
}

static void end_nlmsg(Msg *m, size_t off) {
        put32(m->buf + off, (uint32_t) (m->len - off));
}

static uint32_t gen_pid(void) {
        return chance(97) ? 0 : (uint32_t) rnd64();
}

static void put_genl(Msg *m, uint8_t cmd) {
        struct genlmsghdr g = {
                .cmd = cmd,
                .version = chance(95) ? PASSTHRU_GENL_VERSION : (uint8_t) rnd(256),
                .reserved = chance(97) ? 0 : (uint16_t) rnd(0x10000),
        };

        put(m, &g, sizeof(g));
}

static size_t begin_attr(Msg *m, uint16_t type, bool top) {
        size_t off;

        pad(m, NLA_ALIGNTO);
        off = m->len;
        if (top && m->n_attrs < ELEMENTSOF(m->attr_off))
                m->attr_off[m->n_attrs++] = off;
        put(m, NULL, NLA_HDRLEN);
        put16(m->buf + off + 2, type);
        return off;
}

static void end_attr(Msg *m, size_t off) {
        size_t len = m->len - off;

        put16(m->buf + off, (uint16_t) (len > 0xffff ? 0xffff : len));
        pad(m, NLA_ALIGNTO);
}

/* ---- rule texts ---- */

/* Rules about the test VM's devices (tests/vm/vmrun.py), and the corners
 * of the hide= grammar (docs/DESIGN.md). */
static const char *const rule_dict[] = {
        "(04:01.0)", "(04:02.0)", "(04:*.*)", "(0000:04:01.*)", "(04:02.0=8086:100e)",
        "(01:00.0)", "(02:00.0)", "(01:00.0=8086:10d3)", "(02:00.0=8086:10d3)",
        "(0000:01:00.0=1234:11e8)", "(05:00.0)", "(05:*.*)",
        "", " ", "(", ")", "()", "(:)", "(:.)", "(*)", "(*.*)", "(*:*.*)", "(0a)", "(0a:00)",
        "(0a:00.)", "(0a:.0)", "(0a:00.0", "0a:00.0)", "0a:00.0", "(0a:00.0)(0b:00.0)",
        "(0a:00.0) (0b:00.0)", "(0a:00.0),(0b:00.0)", "(0a:00.0)x", "(0a:20.0)", "(0a:00.8)",
        "(100:00.0)", "(10000:0a:00.0)", "(ffff:ff:1f.7)", "(0xff:0x1f.0x7)", "(0XA:0X0.0X0)",
        "(0a:00.0=)", "(0a:00.0=1234)", "(0a:00.0=1234:)", "(0a:00.0=:11e8)",
        "(0a:00.0=10000:1)", "(0a:00.0=ffffffff:ffffffff)", "(0a:00.0=1234:11e8:1:2)",
        "(0a:*.0)", "(0a:*.*=1234:11e8)", "(0a:1f.*=8086:10d3)", "(-1:00.0)", "(+a:00.0)",
        "( 0a:00.0 )", "(0a :00.0)", "(0a:00 .0)", "(0a:00.0\n)", "\t(0a:00.0)\n",
        "ids 1234:11e8", "1234:11e8", "(0000:0a:00.0=1234:11e8)",
        "(0000000000000000000000000000000a:00.0)", "(0a:0000000000000000000000000000.0)",
        "(0a:00.0=0000000000000000000000001234:11e8)", "((0a:00.0))", "(0a:00.0))",
        "(0a:00.0=1234:11e8=1234:11e8)", "(0a:00.*=1234:11e8)",
};

static const char rule_chars[] = "()0123456789abcdefABCDEFxX:.*= \t\n,;-+";

/* Append to @s (@size bytes, *@n used), never past its end. */
static void app(char *s, size_t size, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void app(char *s, size_t size, size_t *n, const char *fmt, ...) {
        va_list ap;
        int r;

        if (*n >= size - 1)
                return;
        va_start(ap, fmt);
        r = vsnprintf(s + *n, size - *n, fmt, ap);
        va_end(ap);
        if (r > 0)
                *n = *n + (size_t) r < size ? *n + (size_t) r : size - 1;
}

static void app_hex(char *s, size_t size, size_t *n, unsigned v, int width) {
        int w = chance(75) ? width : chance(50) ? 0 : width + 1 + (int) rnd(3);
        const char *prefix = chance(4) ? (chance(50) ? "0x" : "0X") : "";

        if (chance(10))
                app(s, size, n, "%s%0*X", prefix, w, v);
        else
                app(s, size, n, "%s%0*x", prefix, w, v);
}

/* A valid hide= token.  Mostly about a few absent buses, so that HIDE and
 * UNHIDE meet, now and then about the test VM's devices. */
static size_t gen_token(char *s, size_t size) {
        static const uint16_t ids[][2] = {
                { 0x1234, 0x11e8 }, { 0x8086, 0x10d3 }, { 0x8086, 0x100e }, { 0xffff, 0xffff },
        };
        unsigned bus, slot, func, wild = rnd(10);
        size_t n = 0;

        s[0] = '\0';
        if (chance(4)) {
                bus = 1 + rnd(5);
                slot = bus == 4 ? 1 + rnd(2) : 0;
                func = 0;
        } else if (chance(85)) {
                static const unsigned slots[] = { 0, 1, 2, 0x1f };

                bus = 6 + rnd(4);
                slot = slots[rnd(ELEMENTSOF(slots))];
                func = rnd(3) == 2 ? 7 : rnd(2);
        } else {
                bus = 6 + rnd(250);
                slot = rnd(32);
                func = rnd(8);
        }

        if (chance(5))
                app(s, size, &n, " ");
        app(s, size, &n, "(");
        if (chance(30)) {
                app_hex(s, size, &n, chance(90) ? 0 : rnd(0x10000), 4);
                app(s, size, &n, ":");
        }
        app_hex(s, size, &n, bus, 2);
        app(s, size, &n, ":");
        if (wild == 0)
                app(s, size, &n, "*.*");
        else {
                app_hex(s, size, &n, slot, 2);
                app(s, size, &n, ".");
                if (wild == 1)
                        app(s, size, &n, "*");
                else
                        app_hex(s, size, &n, func, 1);
        }
        if (chance(15)) {
                unsigned i = rnd(ELEMENTSOF(ids) + 1);

                app(s, size, &n, "=");
                app_hex(s, size, &n, i < ELEMENTSOF(ids) ? ids[i][0] : rnd(0x10000), 4);
                app(s, size, &n, ":");
                app_hex(s, size, &n, i < ELEMENTSOF(ids) ? ids[i][1] : rnd(0x10000), 4);
        }
        app(s, size, &n, ")");
        if (chance(5))
                app(s, size, &n, "\t ");
        return n;
}

static size_t rule_text(char *s, size_t size) {
        if (chance(25)) {
                const char *d = rule_dict[rnd(ELEMENTSOF(rule_dict))];

                snprintf(s, size, "%s", d);
                return strlen(s);
        }
        return gen_token(s, size);
}

/* Mutate a text in place: @cap bytes room, NUL not counted nor kept. */
static size_t mutate_text(uint8_t *s, size_t len, size_t cap) {
        static const size_t longs[] = { 63, 64, 65, 66, 71, 72, 73, 127, 128, 255, 256, 1000, 4000 };
        unsigned ops = 1 + rnd(3);
        char other[RULE_TEXT];
        size_t i, n;

        while (ops--) {
                switch (rnd(10)) {
                case 0: /* replace a character */
                        if (len)
                                s[rnd(len)] = rule_chars[rnd(sizeof(rule_chars) - 1)];
                        break;
                case 1: /* insert one */
                        if (len < cap) {
                                i = rnd(len + 1);
                                memmove(s + i + 1, s + i, len - i);
                                s[i] = rule_chars[rnd(sizeof(rule_chars) - 1)];
                                len++;
                        }
                        break;
                case 2: /* delete one */
                        if (len) {
                                i = rnd(len);
                                memmove(s + i, s + i + 1, len - i - 1);
                                len--;
                        }
                        break;
                case 3: /* truncate */
                        len = rnd(len + 1);
                        break;
                case 4: /* grow to a length around the limits */
                        n = longs[rnd(ELEMENTSOF(longs))];
                        if (n > cap)
                                n = cap;
                        for (i = len; i < n; i++)
                                s[i] = len ? s[i % len] : '0';
                        len = n > len ? n : len;
                        break;
                case 5: /* any byte: NUL inside, high bits, controls */
                        if (len)
                                s[rnd(len)] = (uint8_t) rnd(256);
                        break;
                case 6: /* repeat a piece */
                        if (len && len < cap) {
                                size_t from = rnd(len), plen = 1 + rnd(len - from);
                                uint8_t piece[64];

                                if (plen > sizeof(piece))
                                        plen = sizeof(piece);
                                if (plen > cap - len)
                                        plen = cap - len;
                                memcpy(piece, s + from, plen);
                                i = rnd(len + 1);
                                memmove(s + i + plen, s + i, len - i);
                                memcpy(s + i, piece, plen);
                                len += plen;
                        }
                        break;
                case 7: /* swap two */
                        if (len > 1) {
                                uint8_t c;

                                i = rnd(len);
                                n = rnd(len);
                                c = s[i];
                                s[i] = s[n];
                                s[n] = c;
                        }
                        break;
                default: /* splice with another rule */
                        n = rule_text(other, sizeof(other));
                        i = rnd(len + 1);
                        {
                                size_t from = rnd(n + 1), take = n - from;

                                if (i + take > cap)
                                        take = cap - i;
                                memcpy(s + i, other + from, take);
                                len = i + take;
                        }
                        break;
                }
        }
        return len;
}

/* ---- attributes ---- */

static void put_nested(Msg *m, int depth);

static void put_payload_any(Msg *m, int depth) {
        uint8_t b[64];
        uint64_t v = rnd64();
        size_t n;

        switch (rnd(9)) {
        case 0:
                put(m, &v, 1);
                break;
        case 1:
                put(m, &v, 2);
                break;
        case 2:
                put(m, &v, 4);
                break;
        case 3:
                put(m, &v, 8);
                break;
        case 4: /* empty */
                break;
        case 5:
                n = rnd(sizeof(b));
                for (size_t i = 0; i < n; i++)
                        b[i] = (uint8_t) rnd(256);
                put(m, b, n);
                break;
        case 6: {
                static const char *const strs[] = {
                        "0000:01:00.0", "0000:04:01.0", "passthru", "vfio-pci", "", "claimed",
                        "0000:01:00.0000", "x",
                };
                const char *s = strs[rnd(ELEMENTSOF(strs))];

                put(m, s, strlen(s) + (chance(90) ? 1 : 0));
                break;
        }
        case 7:
                if (depth < 3) {
                        put_nested(m, depth + 1);
                        break;
                }
                /* fall through */
        default:
                n = rnd(3) ? 3 : 5 + rnd(2048);
                put(m, NULL, n);
                break;
        }
}

static uint16_t pick_attr_type(void) {
        unsigned r = rnd(100);
        uint16_t t;

        if (r < 55)
                t = PASSTHRU_A_RULE;
        else if (r < 85)
                t = (uint16_t) rnd(PASSTHRU_A_MAX + 1);
        else if (r < 95)
                t = (uint16_t) (PASSTHRU_A_MAX + 1 + rnd(16));
        else
                t = (uint16_t) rnd(NLA_TYPE_MASK + 1);
        if (chance(5))
                t |= NLA_F_NESTED;
        if (chance(3))
                t |= NLA_F_NET_BYTEORDER;
        return t;
}

/* The last rules HIDE was generated with, for UNHIDE to name: what the
 * generator sent, not what the kernel answered, so a seed stays a run. */
static char recent_rules[16][RULE_TEXT];
static unsigned n_recent;

static void put_rule_payload(Msg *m, uint8_t cmd) {
        uint8_t s[4096 + 16];
        size_t len;

        if (cmd == PASSTHRU_CMD_UNHIDE && n_recent && chance(35)) {
                snprintf((char *) s, RULE_TEXT, "%s",
                         recent_rules[rnd(n_recent < 16 ? n_recent : 16)]);
                len = strlen((char *) s);
        } else {
                len = rule_text((char *) s, RULE_TEXT);
                if (cmd == PASSTHRU_CMD_HIDE) {
                        char *r = recent_rules[n_recent++ % 16];

                        memcpy(r, s, len);
                        r[len] = '\0';
                }
        }
        if (chance(40))
                len = mutate_text(s, len, 4096);
        if (chance(92))
                s[len++] = '\0';
        if (chance(4)) {
                size_t extra = 1 + rnd(8);

                for (size_t i = 0; i < extra; i++)
                        s[len++] = (uint8_t) rnd(256);
        }
        put(m, s, len);
}

static void put_attr(Msg *m, uint8_t cmd, bool top, int depth) {
        uint16_t type = pick_attr_type();
        size_t off = begin_attr(m, type, top);

        if ((type & NLA_F_NESTED) && depth < 3 && chance(80))
                put_nested(m, depth + 1);
        else if ((type & NLA_TYPE_MASK) == PASSTHRU_A_RULE && chance(90))
                put_rule_payload(m, cmd);
        else
                put_payload_any(m, depth);
        end_attr(m, off);
}

static void put_nested(Msg *m, int depth) {
        unsigned n = rnd(5);

        while (n--)
                put_attr(m, PASSTHRU_CMD_UNSPEC, false, depth);
}

static unsigned pick_n_attrs(void) {
        unsigned r = rnd(100);

        if (r < 8)
                return 0;
        if (r < 73)
                return 1;
        if (r < 85)
                return 2;
        if (r < 95)
                return 3 + rnd(3);
        return 6 + rnd(59);
}

static uint8_t pick_cmd(void) {
        unsigned r = rnd(100);

        if (r < 30)
                return PASSTHRU_CMD_GET;
        if (r < 58)
                return PASSTHRU_CMD_HIDE;
        if (r < 86)
                return PASSTHRU_CMD_UNHIDE;
        if (r < 90)
                return PASSTHRU_CMD_EVENT;
        if (r < 93)
                return PASSTHRU_CMD_UNSPEC;
        if (r < 96)
                return (uint8_t) (__PASSTHRU_CMD_MAX + rnd(4));
        return (uint8_t) rnd(256);
}

static uint16_t pick_flags(uint8_t cmd) {
        uint16_t f = 0;

        if (chance(96))
                f |= NLM_F_REQUEST;
        if (chance(50))
                f |= NLM_F_ACK;
        if (cmd == PASSTHRU_CMD_GET ? chance(85) : chance(6))
                f |= NLM_F_DUMP;
        else if (chance(4))
                f |= chance(50) ? NLM_F_ROOT : NLM_F_MATCH;
        if (chance(10))
                f |= (uint16_t) (1u << rnd(16));
        if (chance(2))
                f = (uint16_t) rnd(0x10000);
        return f;
}

/* ---- the fuzzer ---- */

typedef struct Stats {
        uint64_t messages, requests, garbage, ctrl, special, batches, mutated, bytes;
        uint64_t send_errs[ERRNO_MAX], reply_errs[ERRNO_MAX], recv_errs[ERRNO_MAX];
        uint64_t acks, dump_entries, dumps_done, events, ctrl_replies, other_replies;
        uint64_t accepted[PASSTHRU_CMD_MAX + 1];
        uint64_t sockets, rules_taken_back, reopened_after_trouble;
        double time[KIND_SPECIAL + 1], time_cmd[4], time_cleanup;
        double slowest;
        uint64_t slowest_i;
        uint64_t latency[32];   /* exchanges by log2 of their microseconds */
} Stats;

typedef struct Sent {
        uint32_t seq;
        uint16_t type, flags;
        uint8_t cmd;
        bool has_genl;
        bool errored, done_ok, acked;
        char rule[RULE_TEXT];
        bool has_rule;
} Sent;

typedef struct Exchange {
        Sent sent[VIEW_MAX];
        size_t n_sent;
        bool uncertain;         /* a reply may have been lost */
        bool trouble;           /* the socket may be stuck in a dump */
        bool dump_pending;
} Exchange;

typedef struct Fuzz {
        int fd;
        int fault_fd;           /* make-it-fail (-f) or fail-nth (-F) */
        uint16_t family;
        uint32_t group;
        bool ext_ack, cap_ack;
        bool in_group;
        uint32_t seq;           /* of generated messages */
        uint32_t ctl_seq;       /* of this program's own requests */
        bool hex;
        Stats st;
        char added[ADDED_MAX][RULE_TEXT];
        size_t n_added;
        uint8_t rx[RX_MAX] __attribute__((aligned(8)));
} Fuzz;

static Fuzz fz;

static void count_errno(uint64_t *table, int err) {
        if (err < 0)
                err = -err;
        table[err > 0 && err < ERRNO_MAX ? err : 0]++;
}

static uint16_t pick_type(void) {
        unsigned r = rnd(1000);

        if (r < 970)
                return fz.family;
        if (r < 985)
                return (uint16_t) rnd(NLMSG_MIN_TYPE);
        return (uint16_t) (NO_FAMILY + rnd(0x10000 - NO_FAMILY));
}

/* Not nlctrl either: a GETFAMILY of an unknown name makes the kernel run
 * modprobe, a second's work that tests nothing of passthru.  gen_ctrl()
 * asks nlctrl about passthru only. */
static bool safe_type(uint16_t t) {
        return t == fz.family || t < NLMSG_MIN_TYPE || t >= NO_FAMILY;
}

/* Walk the buffer as netlink_rcv_skb() will and keep every header it reads
 * on passthru, nlctrl, a control type or no family. */
static void sanitize(Msg *m) {
        size_t off = 0;

        while (m->len - off >= NLMSG_HDRLEN) {
                uint32_t len;
                uint16_t type;

                get32(m->buf + off, &len);
                if (len < NLMSG_HDRLEN || len > m->len - off)
                        break;
                get16(m->buf + off + 4, &type);
                if (!safe_type(type))
                        put16(m->buf + off + 4, fz.family);
                if (NLMSG_ALIGN(len) >= m->len - off)
                        break;
                off += NLMSG_ALIGN(len);
        }
}

static void gen_passthru_request(Msg *m) {
        uint8_t cmd = pick_cmd();
        size_t off = begin_nlmsg(m, pick_type(), pick_flags(cmd), ++fz.seq, gen_pid());
        unsigned n = pick_n_attrs();

        put_genl(m, cmd);
        while (n--)
                put_attr(m, cmd, true, 0);
        end_nlmsg(m, off);
}

static void lie_nlmsg_len(Msg *m) {
        uint32_t len = (uint32_t) m->len, v;

        switch (rnd(12)) {
        case 0: v = 0; break;
        case 1: v = 1 + rnd(NLMSG_HDRLEN - 1); break;
        case 2: v = NLMSG_HDRLEN; break;
        case 3: v = NLMSG_HDRLEN + 1 + rnd(GENL_HDRLEN); break;
        case 4: v = len - 1; break;
        case 5: v = len + 1 + rnd(4); break;
        case 6: v = len * 2; break;
        case 7: v = 0xffffffff; break;
        case 8: v = 0x7fffffff; break;
        case 9: v = 65536; break;
        default: v = rnd(len + 1); break;
        }
        put32(m->buf, v);
}

static void lie_nla_len(Msg *m) {
        size_t off = m->attr_off[rnd((uint32_t) m->n_attrs)];
        uint16_t len, v;
        size_t rest = m->len - off;

        if (off + NLA_HDRLEN > m->len)
                return;
        get16(m->buf + off, &len);
        switch (rnd(12)) {
        case 0: v = 0; break;
        case 1: v = (uint16_t) (1 + rnd(3)); break;
        case 2: v = NLA_HDRLEN; break;
        case 3: v = (uint16_t) (NLA_HDRLEN + 1); break;
        case 4: v = (uint16_t) (len - 1); break;
        case 5: v = (uint16_t) (len + 1 + rnd(4)); break;
        case 6: v = (uint16_t) rest; break;
        case 7: v = (uint16_t) (rest + 1); break;
        case 8: v = 0xffff; break;
        default: v = (uint16_t) rnd(0x10000); break;
        }
        put16(m->buf + off, v);
}

static void flip_bytes(Msg *m) {
        unsigned n = 1 + rnd(4);

        while (n-- && m->len)
                m->buf[rnd((uint32_t) m->len)] = (uint8_t) rnd(256);
}

static void add_garbage_tail(Msg *m) {
        size_t n = 1 + rnd(64);

        while (n-- && m->len < MSG_MAX)
                m->buf[m->len++] = (uint8_t) rnd(256);
}

static void gen_request(Msg *m) {
        bool mutated = false;

        gen_passthru_request(m);
        if (chance(8)) {
                lie_nlmsg_len(m);
                mutated = true;
        }
        if (m->n_attrs && chance(8)) {
                lie_nla_len(m);
                mutated = true;
        }
        if (chance(5)) {
                m->len = rnd((uint32_t) m->len + 1);
                if (m->len >= 4 && chance(50))
                        put32(m->buf, (uint32_t) m->len);
                mutated = true;
        }
        if (chance(5)) {
                flip_bytes(m);
                mutated = true;
        }
        if (chance(5)) {
                /* a batch: more messages in the same sendmsg */
                unsigned n = 1 + rnd(7);

                while (n--)
                        gen_passthru_request(m);
                fz.st.batches++;
        }
        if (chance(3)) {
                add_garbage_tail(m);
                mutated = true;
        }
        if (mutated)
                fz.st.mutated++;
}

static void gen_garbage(Msg *m) {
        unsigned r = rnd(100);
        size_t len;

        if (r < 15)
                len = rnd(NLMSG_HDRLEN);
        else if (r < 30)
                len = NLMSG_HDRLEN + rnd(8);
        else if (r < 85)
                len = 24 + rnd(300);
        else if (r < 98)
                len = rnd(4096);
        else
                len = rnd(MSG_MAX);
        for (size_t i = 0; i < len; i++)
                m->buf[i] = chance(80) ? (uint8_t) rnd(256) : chance(50) ? 0 : 0xff;
        m->len = len;
        if (len >= NLMSG_HDRLEN && chance(70)) {
                put32(m->buf, chance(70) ? (uint32_t) len : (uint32_t) rnd((uint32_t) len + 32));
                put16(m->buf + 4, fz.family);
                if (chance(80))
                        put16(m->buf + 6, (uint16_t) (NLM_F_REQUEST | (chance(50) ? rnd(0x10000) : 0)));
                if (len >= NLMSG_HDRLEN + GENL_HDRLEN && chance(60)) {
                        m->buf[NLMSG_HDRLEN] = pick_cmd();
                        m->buf[NLMSG_HDRLEN + 1] = PASSTHRU_GENL_VERSION;
                        put16(m->buf + NLMSG_HDRLEN + 2, 0);
                }
        }
}

/* GETFAMILY and GETPOLICY about passthru: the core reading the module's
 * family and policy tables. */
static void gen_ctrl(Msg *m) {
        uint8_t cmd = chance(50) ? CTRL_CMD_GETFAMILY : chance(90) ? CTRL_CMD_GETPOLICY : (uint8_t) rnd(16);
        uint16_t flags = NLM_F_REQUEST | (chance(50) ? NLM_F_ACK : 0) |
                         (cmd == CTRL_CMD_GETPOLICY || chance(20) ? NLM_F_DUMP : 0);
        size_t off = begin_nlmsg(m, GENL_ID_CTRL, flags, ++fz.seq, gen_pid()), a;
        struct genlmsghdr g = { .cmd = cmd, .version = 2 };

        put(m, &g, sizeof(g));
        if (chance(60)) {
                a = begin_attr(m, CTRL_ATTR_FAMILY_NAME, true);
                put(m, PASSTHRU_GENL_NAME, sizeof(PASSTHRU_GENL_NAME));
                end_attr(m, a);
        } else if (chance(90)) {
                uint16_t id = chance(90) ? fz.family : (uint16_t) rnd(0x10000);

                if (!safe_type(id))
                        id = fz.family;
                a = begin_attr(m, CTRL_ATTR_FAMILY_ID, true);
                put(m, &id, sizeof(id));
                end_attr(m, a);
        }
        if (chance(30)) {
                uint32_t op = chance(80) ? rnd(__PASSTHRU_CMD_MAX + 1) : (uint32_t) rnd64();

                a = begin_attr(m, CTRL_ATTR_OP, true);
                put(m, &op, sizeof(op));
                end_attr(m, a);
        }
        end_nlmsg(m, off);
}

static void gen_get_dump(Msg *m) {
        size_t off = begin_nlmsg(m, fz.family, NLM_F_REQUEST | NLM_F_DUMP, ++fz.seq, 0);
        struct genlmsghdr g = { .cmd = PASSTHRU_CMD_GET, .version = PASSTHRU_GENL_VERSION };

        put(m, &g, sizeof(g));
        end_nlmsg(m, off);
}

/* A well-formed request of this program's own, not from the generator:
 * @cmd to passthru (@type 0) or nlctrl, about @rule if not NULL. */
static void build_request(Msg *m, uint16_t type, uint8_t cmd, uint16_t flags, const char *rule) {
        struct genlmsghdr g = {
                .cmd = cmd,
                .version = type == GENL_ID_CTRL ? 2 : PASSTHRU_GENL_VERSION,
        };
        size_t off, a;

        m->len = 0;
        m->n_attrs = 0;
        off = begin_nlmsg(m, type ? type : fz.family, NLM_F_REQUEST | flags, ++fz.ctl_seq, 0);
        put(m, &g, sizeof(g));
        if (rule) {
                a = begin_attr(m, PASSTHRU_A_RULE, false);
                put(m, rule, strlen(rule) + 1);
                end_attr(m, a);
        }
        if (type == GENL_ID_CTRL) {
                a = begin_attr(m, CTRL_ATTR_FAMILY_NAME, false);
                put(m, PASSTHRU_GENL_NAME, sizeof(PASSTHRU_GENL_NAME));
                end_attr(m, a);
        }
        end_nlmsg(m, off);
}

static void gen_message(Msg *m) {
        unsigned r = rnd(1000);

        m->len = 0;
        m->n_attrs = 0;
        if (r < 830) {
                m->kind = KIND_REQUEST;
                gen_request(m);
        } else if (r < 955) {
                m->kind = KIND_GARBAGE;
                gen_garbage(m);
        } else if (r < 985) {
                m->kind = KIND_CTRL;
                gen_ctrl(m);
                return;
        } else {
                m->kind = KIND_SPECIAL;
                m->special = (int) rnd(_SPECIAL_MAX);
                m->arg = (uint32_t) rnd64();
                gen_get_dump(m);
        }
        sanitize(m);
}

/* ---- sockets ---- */

static int nl_open(bool ext_ack, bool cap_ack, int rcvbuf) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        int fd, one = 1;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        /* Options are best effort: a failure here is the kernel's to make. */
        if (ext_ack)
                (void) setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        if (cap_ack)
                (void) setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        if (rcvbuf > 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        return fd;
}

static int send_buf(int fd, const void *buf, size_t len) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = {
                .msg_name = &sa,
                .msg_namelen = sizeof(sa),
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };

        if (sendmsg(fd, &mh, 0) < 0)
                return -errno;
        return 0;
}

static void find_sent(Exchange *x, uint32_t seq, int err, bool done) {
        for (size_t i = 0; i < x->n_sent; i++) {
                if (x->sent[i].seq != seq)
                        continue;
                if (err)
                        x->sent[i].errored = true;
                else if (done)
                        x->sent[i].done_ok = true;
                else
                        x->sent[i].acked = true;
        }
}

static void parse_reply(Exchange *x, const uint8_t *buf, size_t len) {
        const struct nlmsghdr *h;
        int rem = (int) len;

        for (h = (const void *) buf; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
                const uint8_t *data = NLMSG_DATA(h);
                size_t dlen = h->nlmsg_len - NLMSG_HDRLEN;
                int32_t err = 0;

                switch (h->nlmsg_type) {
                case NLMSG_ERROR:
                        if (dlen >= sizeof(err))
                                memcpy(&err, data, sizeof(err));
                        if (err)
                                count_errno(fz.st.reply_errs, err);
                        else
                                fz.st.acks++;
                        if (x)
                                find_sent(x, h->nlmsg_seq, err, false);
                        /* a dump already running: stuck, when allocations fail */
                        if (err == -EBUSY && x && fz.fault_fd >= 0)
                                x->trouble = true;
                        break;
                case NLMSG_DONE:
                        if (dlen >= sizeof(err))
                                memcpy(&err, data, sizeof(err));
                        if (err)
                                count_errno(fz.st.reply_errs, err);
                        fz.st.dumps_done++;
                        if (x)
                                find_sent(x, h->nlmsg_seq, err, true);
                        break;
                default:
                        if (h->nlmsg_type == fz.family && dlen >= GENL_HDRLEN &&
                            ((const struct genlmsghdr *) data)->cmd == PASSTHRU_CMD_EVENT)
                                fz.st.events++;
                        else if (h->nlmsg_type == fz.family)
                                fz.st.dump_entries++;
                        else if (h->nlmsg_type == GENL_ID_CTRL)
                                fz.st.ctrl_replies++;
                        else
                                fz.st.other_replies++;
                        break;
                }
        }
}

/* Read until nothing is left.  A dump goes on inside recvmsg(), so when it
 * says EAGAIN the dump is over, or stuck after a failed allocation. */
static void drain_fd(int fd, Exchange *x, size_t bufsize) {
        unsigned errors = 0;

        for (;;) {
                ssize_t n = recv(fd, fz.rx, bufsize, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        count_errno(fz.st.recv_errs, errno);
                        if (x) {
                                x->uncertain = true;
                                x->trouble = true;
                        }
                        if (++errors > 64)
                                return;
                        continue;
                }
                if (n == 0)
                        return;
                parse_reply(x, fz.rx, (size_t) n < bufsize ? (size_t) n : bufsize);
        }
}

static void fault_window(bool on) {
        if (fz.fault_fd < 0)
                return;
        /* Turning it off can fail by injection itself: try again. */
        for (int i = 0; i < 1000; i++)
                if (pwrite(fz.fault_fd, on ? "1" : "0", 1, 0) == 1)
                        return;
        fprintf(stderr, "ptnl-fuzz: cannot write make-it-fail: %m\n");
        exit(1);
}

static int join_group(int fd, bool join) {
        int opt = join ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;

        if (!fz.group)
                return 0;
        if (setsockopt(fd, SOL_NETLINK, opt, &fz.group, sizeof(fz.group)) < 0)
                return -errno;
        return 0;
}

static int reopen_main(void) {
        int fd = nl_open(fz.ext_ack, fz.cap_ack, 0);

        if (fd < 0)
                return fd;
        if (fz.fd >= 0)
                close(fz.fd);
        fz.fd = fd;
        fz.st.sockets++;
        if (fz.in_group)
                (void) join_group(fd, true);
        return 0;
}

/* The messages of @m the kernel will hand to genetlink, as it will see them. */
static void view(const Msg *m, Exchange *x) {
        size_t off = 0;

        x->n_sent = 0;
        while (m->len - off >= NLMSG_HDRLEN && x->n_sent < VIEW_MAX) {
                Sent *s = &x->sent[x->n_sent];
                uint32_t len;

                memset(s, 0, sizeof(*s));
                get32(m->buf + off, &len);
                if (len < NLMSG_HDRLEN || len > m->len - off)
                        break;
                get16(m->buf + off + 4, &s->type);
                get16(m->buf + off + 6, &s->flags);
                get32(m->buf + off + 8, &s->seq);
                if ((s->flags & NLM_F_REQUEST) && s->type >= NLMSG_MIN_TYPE) {
                        if (len >= NLMSG_HDRLEN + GENL_HDRLEN) {
                                size_t p = off + NLMSG_HDRLEN + GENL_HDRLEN, end = off + len;

                                s->has_genl = true;
                                s->cmd = m->buf[off + NLMSG_HDRLEN];
                                while (p + NLA_HDRLEN <= end) {
                                        uint16_t alen, atype;

                                        get16(m->buf + p, &alen);
                                        get16(m->buf + p + 2, &atype);
                                        if (alen < NLA_HDRLEN || alen > end - p)
                                                break;
                                        if ((atype & NLA_TYPE_MASK) == PASSTHRU_A_RULE) {
                                                size_t n = alen - NLA_HDRLEN;

                                                if (n > RULE_TEXT - 1)
                                                        n = RULE_TEXT - 1;
                                                memcpy(s->rule, m->buf + p + NLA_HDRLEN, n);
                                                s->rule[n] = '\0';
                                                s->has_rule = true;
                                        }
                                        p += NLA_ALIGN(alen);
                                }
                        }
                        x->n_sent++;
                }
                if (NLMSG_ALIGN(len) >= m->len - off)
                        break;
                off += NLMSG_ALIGN(len);
        }
}

static void remember_rule(const char *rule) {
        for (size_t i = 0; i < fz.n_added; i++)
                if (strcmp(fz.added[i], rule) == 0)
                        return;
        if (fz.n_added < ADDED_MAX)
                snprintf(fz.added[fz.n_added++], RULE_TEXT, "%s", rule);
}

static void account(const Exchange *x) {
        for (size_t i = 0; i < x->n_sent; i++) {
                const Sent *s = &x->sent[i];
                bool dump = (s->flags & NLM_F_DUMP) == NLM_F_DUMP;

                if (s->type != fz.family || !s->has_genl || s->errored)
                        continue;
                /* in a dump an error can come in NLMSG_DONE; a doit without
                 * NLM_F_ACK says nothing when it works */
                if (dump ? !s->done_ok : x->uncertain)
                        continue;
                if (s->cmd <= PASSTHRU_CMD_MAX)
                        fz.st.accepted[s->cmd]++;
                if (s->cmd == PASSTHRU_CMD_HIDE && !dump && s->has_rule)
                        remember_rule(s->rule);
        }
}

/* One request on its own socket, outside of any fault window: 0 or -errno. */
static int simple_request(uint8_t cmd, const char *rule) {
        Msg *m = calloc(1, sizeof(*m));
        Exchange x = {};
        int fd, r;

        if (!m)
                return -ENOMEM;
        fd = nl_open(false, true, 0);
        if (fd < 0) {
                free(m);
                return fd;
        }
        build_request(m, 0, cmd, NLM_F_ACK, rule);
        view(m, &x);
        r = send_buf(fd, m->buf, m->len);
        if (r == 0) {
                drain_fd(fd, &x, RX_MAX);
                r = x.uncertain ? -EIO : 0;
                for (size_t i = 0; i < x.n_sent; i++)
                        if (x.sent[i].errored)
                                r = -EINVAL;
        }
        close(fd);
        free(m);
        return r;
}

/* Take back the rules HIDE accepted. */
static void take_back_rules(void) {
        for (size_t i = 0; i < fz.n_added; i++)
                if (simple_request(PASSTHRU_CMD_UNHIDE, fz.added[i]) == 0)
                        fz.st.rules_taken_back++;
        fz.n_added = 0;
}

static void do_special(const Msg *m, Exchange *x) {
        int fd = -1, n;

        switch (m->special) {
        case SPECIAL_CLOSE_UNREAD:
        case SPECIAL_CLOSE_HALF:
        case SPECIAL_TINY_READS:
        case SPECIAL_TWO_DUMPS:
        case SPECIAL_HIDE_IN_DUMP:
                fd = nl_open(m->arg & 1, m->arg & 2,
                             m->special == SPECIAL_TINY_READS ? (int) (m->arg >> 8) % 2048 : 0);
                if (fd < 0) {
                        count_errno(fz.st.send_errs, fd);
                        return;
                }
                n = send_buf(fd, m->buf, m->len);
                if (n < 0)
                        count_errno(fz.st.send_errs, n);
                if (m->special == SPECIAL_TWO_DUMPS) {
                        n = send_buf(fd, m->buf, m->len);
                        if (n < 0)
                                count_errno(fz.st.send_errs, n);
                }
                if (m->special == SPECIAL_CLOSE_HALF || m->special == SPECIAL_HIDE_IN_DUMP) {
                        n = (int) recv(fd, fz.rx, RX_MAX, MSG_DONTWAIT);
                        if (n > 0)
                                parse_reply(NULL, fz.rx, (size_t) n);
                }
                if (m->special == SPECIAL_HIDE_IN_DUMP) {
                        char rule[RULE_TEXT];

                        snprintf(rule, sizeof(rule), "(%02x:%02x.%x)", 6 + (m->arg >> 8) % 4,
                                 (m->arg >> 12) % 3, (m->arg >> 16) % 2);
                        /* on this socket, with the dump still open */
                        for (int i = 0; i < 2; i++) {
                                Msg *h = calloc(1, sizeof(*h));

                                if (!h)
                                        break;
                                build_request(h, 0, i == 0 ? PASSTHRU_CMD_HIDE : PASSTHRU_CMD_UNHIDE,
                                              NLM_F_ACK, rule);
                                n = send_buf(fd, h->buf, h->len);
                                if (n < 0)
                                        count_errno(fz.st.send_errs, n);
                                free(h);
                        }
                }
                if (m->special == SPECIAL_TINY_READS || m->special == SPECIAL_TWO_DUMPS ||
                    m->special == SPECIAL_HIDE_IN_DUMP)
                        drain_fd(fd, NULL, m->special == SPECIAL_TINY_READS ? 16 : RX_MAX);
                close(fd);
                break;
        case SPECIAL_GROUP:
                fz.in_group = !fz.in_group;
                n = join_group(fz.fd, fz.in_group);
                if (n < 0)
                        count_errno(fz.st.send_errs, n);
                break;
        case SPECIAL_REOPEN:
                fz.ext_ack = m->arg & 1;
                fz.cap_ack = m->arg & 2;
                n = reopen_main();
                if (n < 0) {
                        count_errno(fz.st.send_errs, n);
                        x->trouble = true;
                }
                break;
        }
}

static void hexdump(uint64_t i, const Msg *m) {
        printf("message %" PRIu64 " kind %d special %d len %zu:", i, m->kind,
               m->kind == KIND_SPECIAL ? m->special : -1, m->len);
        for (size_t j = 0; j < m->len; j++)
                printf("%s%02x", j % 32 ? "" : "\n  ", m->buf[j]);
        printf("\n");
        fflush(stdout);
}

static void exchange(Msg *m) {
        Exchange x = {};
        int r;

        view(m, &x);
        if (fz.fd < 0)
                (void) reopen_main();
        fault_window(true);
        if (m->kind == KIND_SPECIAL)
                do_special(m, &x);
        else {
                r = send_buf(fz.fd, m->buf, m->len);
                if (r < 0) {
                        count_errno(fz.st.send_errs, r);
                        x.uncertain = true;
                }
                if (fz.fd >= 0)
                        drain_fd(fz.fd, &x, RX_MAX);
        }
        fault_window(false);

        fz.st.bytes += m->len;
        account(&x);
        /* A dump whose next part could not be allocated never ends: start over. */
        if (x.trouble || fz.fd < 0) {
                fz.st.reopened_after_trouble++;
                if (reopen_main() < 0)
                        fz.fd = -1;
        }
}

/* ---- setup: the family id and the events group, from nlctrl ---- */

static int resolve_family(void) {
        uint8_t buf[256] __attribute__((aligned(8))) = {};
        struct nlmsghdr *h = (void *) buf;
        struct genlmsghdr *g = NLMSG_DATA(h);
        struct nlattr *a = (void *) ((uint8_t *) g + GENL_HDRLEN);
        int fd, r;
        ssize_t n;

        fd = nl_open(false, false, 0);
        if (fd < 0)
                return fd;
        a->nla_type = CTRL_ATTR_FAMILY_NAME;
        a->nla_len = NLA_HDRLEN + sizeof(PASSTHRU_GENL_NAME);
        memcpy((uint8_t *) a + NLA_HDRLEN, PASSTHRU_GENL_NAME, sizeof(PASSTHRU_GENL_NAME));
        h->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + NLA_ALIGN(a->nla_len);
        h->nlmsg_type = GENL_ID_CTRL;
        h->nlmsg_flags = NLM_F_REQUEST;
        h->nlmsg_seq = 1;
        g->cmd = CTRL_CMD_GETFAMILY;
        g->version = 2;
        r = send_buf(fd, buf, h->nlmsg_len);
        if (r < 0)
                goto out;
        n = recv(fd, fz.rx, RX_MAX, 0);
        if (n < 0) {
                r = -errno;
                goto out;
        }
        r = -ENOENT;
        h = (void *) fz.rx;
        if (!NLMSG_OK(h, (int) n))
                goto out;
        if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);

                r = e->error ? e->error : -ENOENT;
                goto out;
        }
        {
                const uint8_t *p = (const uint8_t *) NLMSG_DATA(h) + GENL_HDRLEN;
                const uint8_t *end = (const uint8_t *) h + h->nlmsg_len;

                while (end - p >= NLA_HDRLEN) {
                        const struct nlattr *at = (const void *) p;

                        if (at->nla_len < NLA_HDRLEN || at->nla_len > end - p)
                                break;
                        if ((at->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID) {
                                memcpy(&fz.family, p + NLA_HDRLEN, sizeof(fz.family));
                                r = 0;
                        } else if ((at->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GROUPS) {
                                /* [ [NAME, ID], ... ] */
                                const uint8_t *q = p + NLA_HDRLEN, *qend = p + at->nla_len;

                                while (qend - q >= NLA_HDRLEN) {
                                        const struct nlattr *grp = (const void *) q;
                                        const uint8_t *s = q + NLA_HDRLEN, *send = q + grp->nla_len;
                                        const char *name = NULL;
                                        uint32_t id = 0;

                                        if (grp->nla_len < NLA_HDRLEN || grp->nla_len > qend - q)
                                                break;
                                        while (send - s >= NLA_HDRLEN) {
                                                const struct nlattr *f = (const void *) s;

                                                if (f->nla_len < NLA_HDRLEN || f->nla_len > send - s)
                                                        break;
                                                if (f->nla_type == CTRL_ATTR_MCAST_GRP_NAME)
                                                        name = (const char *) s + NLA_HDRLEN;
                                                else if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
                                                        memcpy(&id, s + NLA_HDRLEN, sizeof(id));
                                                s += NLA_ALIGN(f->nla_len);
                                        }
                                        if (name && strcmp(name, PASSTHRU_GENL_MCGRP_EVENTS) == 0)
                                                fz.group = id;
                                        q += NLA_ALIGN(grp->nla_len);
                                }
                        }
                        p += NLA_ALIGN(at->nla_len);
                }
        }
out:
        close(fd);
        return r;
}

/* ---- -F: every allocation of a few requests, failed in turn ---- */

/* The GET dump as text, one line per entry. */
static int get_text(char *out, size_t size) {
        Msg *m = calloc(1, sizeof(*m));
        size_t used = 0;
        int fd, r = 0;
        bool done = false;

        if (!m)
                return -ENOMEM;
        out[0] = '\0';
        fd = nl_open(false, true, 0);
        if (fd < 0) {
                free(m);
                return fd;
        }
        gen_get_dump(m);
        r = send_buf(fd, m->buf, m->len);
        while (r == 0 && !done) {
                ssize_t n = recv(fd, fz.rx, RX_MAX, 0);
                const struct nlmsghdr *h;
                int rem;

                if (n < 0) {
                        r = -errno;
                        break;
                }
                rem = (int) n;
                for (h = (const void *) fz.rx; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
                        const uint8_t *p = (const uint8_t *) NLMSG_DATA(h) + GENL_HDRLEN;
                        const uint8_t *end = (const uint8_t *) h + h->nlmsg_len;

                        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                                int32_t err = 0;

                                memcpy(&err, NLMSG_DATA(h), sizeof(err));
                                r = err;
                                done = true;
                                break;
                        }
                        while (end - p >= NLA_HDRLEN && used < size) {
                                const struct nlattr *a = (const void *) p;
                                const uint8_t *d = p + NLA_HDRLEN;
                                int len = a->nla_len - NLA_HDRLEN;

                                if (a->nla_len < NLA_HDRLEN || a->nla_len > end - p)
                                        break;
                                if (a->nla_len == NLA_HDRLEN + 1)
                                        used += (size_t) snprintf(out + used, size - used, "%u ", d[0]);
                                else if (a->nla_len == NLA_HDRLEN + 2) {
                                        uint16_t v;

                                        memcpy(&v, d, sizeof(v));
                                        used += (size_t) snprintf(out + used, size - used, "%04x ", v);
                                } else
                                        used += (size_t) snprintf(out + used, size - used, "%.*s ",
                                                                  len, (const char *) d);
                                p += NLA_ALIGN(a->nla_len);
                        }
                        if (used < size)
                                used += (size_t) snprintf(out + used, size - used, "\n");
                }
        }
        close(fd);
        free(m);
        return r;
}

enum {
        SWEEP_NONE,
        SWEEP_HIDE,             /* prepare or undo: HIDE the rule */
        SWEEP_UNHIDE,           /* ... UNHIDE it */
};

typedef struct SweepCase {
        const char *name;
        uint16_t type;          /* 0: passthru */
        uint8_t cmd;
        uint16_t flags;
        const char *rule;
        int prepare, undo;
        /* All or nothing: the devices the request concerns, and the
         * driver_override each must have when it succeeded, when refused */
        const char *devices;
        const char *if_done, *if_refused;
} SweepCase;

#define EDU1 "0000:04:01.0"
#define BUS4 "0000:04:01.0 0000:04:02.0"
#define PINNED "passthru"
#define FREE "(null)"

static const SweepCase sweep_cases[] = {
        { "get-dump", 0, PASSTHRU_CMD_GET, NLM_F_DUMP, NULL, SWEEP_NONE, SWEEP_NONE, NULL, NULL, NULL },
        { "hide-absent", 0, PASSTHRU_CMD_HIDE, NLM_F_ACK, "(0a:00.0)", SWEEP_NONE, SWEEP_UNHIDE, NULL, NULL, NULL },
        { "unhide-absent", 0, PASSTHRU_CMD_UNHIDE, NLM_F_ACK, "(0a:00.0)", SWEEP_HIDE, SWEEP_UNHIDE, NULL, NULL, NULL },
        { "hide-bad-rule", 0, PASSTHRU_CMD_HIDE, NLM_F_ACK, "(0a:00.0", SWEEP_NONE, SWEEP_NONE, NULL, NULL, NULL },
        { "hide-claims-edu", 0, PASSTHRU_CMD_HIDE, NLM_F_ACK, "(04:01.0)", SWEEP_NONE, SWEEP_UNHIDE,
          EDU1, PINNED, FREE },
        { "unhide-releases-edu", 0, PASSTHRU_CMD_UNHIDE, NLM_F_ACK, "(04:01.0)", SWEEP_HIDE, SWEEP_UNHIDE,
          EDU1, FREE, PINNED },
        { "hide-claims-bus-4", 0, PASSTHRU_CMD_HIDE, NLM_F_ACK, "(04:*.*)", SWEEP_NONE, SWEEP_UNHIDE,
          BUS4, PINNED, FREE },
        { "unhide-releases-bus-4", 0, PASSTHRU_CMD_UNHIDE, NLM_F_ACK, "(04:*.*)", SWEEP_HIDE, SWEEP_UNHIDE,
          BUS4, FREE, PINNED },
        { "hide-mismatch", 0, PASSTHRU_CMD_HIDE, NLM_F_ACK, "(04:01.0=8086:10d3)", SWEEP_NONE, SWEEP_UNHIDE,
          EDU1, FREE, FREE },
        { "ctrl-getpolicy", GENL_ID_CTRL, CTRL_CMD_GETPOLICY, NLM_F_DUMP, NULL, SWEEP_NONE, SWEEP_NONE,
          NULL, NULL, NULL },
        { "ctrl-getfamily", GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK, NULL, SWEEP_NONE, SWEEP_NONE,
          NULL, NULL, NULL },
};

/* The devices of @c whose driver_override is not @want: how many, named in @bad. */
static unsigned check_overrides(const SweepCase *c, const char *want, char *bad, size_t size) {
        char devs[128], *dev, *save = NULL;
        unsigned n = 0;

        bad[0] = '\0';
        snprintf(devs, sizeof(devs), "%s", c->devices);
        for (dev = strtok_r(devs, " ", &save); dev; dev = strtok_r(NULL, " ", &save)) {
                char path[128], value[64] = "";
                FILE *f;

                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", dev);
                f = fopen(path, "re");
                if (f) {
                        if (!fgets(value, sizeof(value), f))
                                value[0] = '\0';
                        fclose(f);
                }
                value[strcspn(value, "\n")] = '\0';
                if (strcmp(value, want) != 0) {
                        size_t used = strlen(bad);

                        snprintf(bad + used, size - used, "%s%s has '%s'", n ? ", " : "", dev, value);
                        n++;
                }
        }
        return n;
}

static int set_fail_nth(unsigned n) {
        char s[16];
        int len = snprintf(s, sizeof(s), "%u", n);

        for (int i = 0; i < 1000; i++)
                if (pwrite(fz.fault_fd, s, (size_t) len, 0) == len)
                        return 0;
        return -errno;
}

static int sweep(const char *only) {
        static char before[65536], after[65536];
        Msg *m = calloc(1, sizeof(*m));
        unsigned changed = 0, total = 0, halfway = 0;
        int r;

        if (!m)
                return 1;
        r = get_text(before, sizeof(before));
        if (r < 0) {
                fprintf(stderr, "ptnl-fuzz: GET failed before the sweep: %s\n", strerror(-r));
                return 1;
        }
        fz.in_group = true;
        for (size_t i = 0; i < ELEMENTSOF(sweep_cases); i++) {
                const SweepCase *c = &sweep_cases[i];
                unsigned n, refused = 0, shown = 0;
                char line[256] = "";
                size_t used = 0;

                if (only && strcmp(c->name, only) != 0)
                        continue;

                for (n = 1; n < 10000; n++) {
                        Exchange x = {};
                        char left[16] = "";
                        ssize_t len;

                        if (c->prepare == SWEEP_HIDE)
                                (void) simple_request(PASSTHRU_CMD_HIDE, c->rule);
                        reopen_main();
                        build_request(m, c->type, c->cmd, c->flags, c->rule);
                        view(m, &x);
                        if (set_fail_nth(n) < 0) {
                                fprintf(stderr, "ptnl-fuzz: cannot write fail-nth: %m\n");
                                return 1;
                        }
                        r = send_buf(fz.fd, m->buf, m->len);
                        if (r < 0) {
                                count_errno(fz.st.send_errs, r);
                                x.sent[0].errored = true;
                        } else
                                drain_fd(fz.fd, &x, RX_MAX);
                        len = pread(fz.fault_fd, left, sizeof(left) - 1, 0);
                        (void) set_fail_nth(0);
                        fz.st.messages++;
                        for (size_t j = 0; j < x.n_sent; j++)
                                if (x.sent[j].errored)
                                        refused++;
                        /* Done (acknowledged) or refused, never half of it. */
                        if (c->devices && x.n_sent == 1 && (x.sent[0].errored || x.sent[0].acked)) {
                                const char *want = x.sent[0].errored ? c->if_refused : c->if_done;
                                char bad[256];

                                if (check_overrides(c, want, bad, sizeof(bad))) {
                                        halfway++;
                                        fprintf(stderr, "ptnl-fuzz: %s, allocation %u failed: %s, yet %s\n",
                                                c->name, n, x.sent[0].errored ? "refused" : "done", bad);
                                }
                        }
                        if (c->undo == SWEEP_UNHIDE)
                                (void) simple_request(PASSTHRU_CMD_UNHIDE, c->rule);
                        /* The kernel's view must be what it was, whatever failed. */
                        for (int tries = 0; tries < 3; tries++) {
                                r = get_text(after, sizeof(after));
                                if (r == 0 && strcmp(before, after) == 0)
                                        break;
                                usleep(100000);
                        }
                        if (r != 0 || strcmp(before, after) != 0) {
                                changed++;
                                if (shown++ < 3)
                                        fprintf(stderr, "ptnl-fuzz: %s, allocation %u failed: the GET dump "
                                                "changed (%s)\n--- before\n%s--- after\n%s",
                                                c->name, n, r ? strerror(-r) : "", before, after);
                        }
                        if (len > 0 && atoi(left) != 0)
                                break;  /* the n-th allocation was never reached */
                }
                total += n - 1;
                used += (size_t) snprintf(line + used, sizeof(line) - used, "%s: %u allocations failed in turn",
                                          c->name, n - 1);
                if (refused)
                        snprintf(line + used, sizeof(line) - used, ", %u refused", refused);
                printf("ptnl-fuzz: sweep %s\n", line);
        }
        printf("ptnl-fuzz: sweep: %u requests with one failed allocation each, %u left the state changed, "
               "%u done halfway\n", total, changed, halfway);
        free(m);
        if (total == 0) {
                fprintf(stderr, "ptnl-fuzz: no request named %s\n", only);
                return 2;
        }
        return changed || halfway ? 1 : 0;
}

/* ---- the report ---- */

static void print_errnos(const char *what, const uint64_t *table) {
        uint64_t shown[ERRNO_MAX] = {};
        bool any = false;

        printf("%s", what);
        for (;;) {
                int best = -1;

                for (int e = 0; e < ERRNO_MAX; e++)
                        if (table[e] > shown[e] && (best < 0 || table[e] > table[best]))
                                best = e;
                if (best < 0)
                        break;
                shown[best] = table[best];
                if (best == 0)
                        printf("%s other %" PRIu64, any ? "," : "", table[best]);
                else {
                        const char *name = strerrorname_np(best);

                        printf("%s %s %" PRIu64, any ? "," : "", name ? name : "E?", table[best]);
                }
                any = true;
        }
        printf("%s\n", any ? "" : " none");
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The exchange time below which @permille of them stayed, as a power of two. */
static double latency_at(unsigned permille) {
        uint64_t total = 0, seen = 0;

        for (int b = 0; b < 32; b++)
                total += fz.st.latency[b];
        for (int b = 0; b < 32; b++) {
                seen += fz.st.latency[b];
                if (seen * 1000 >= total * permille)
                        return (double) (2u << b) / 1e3;
        }
        return 0;
}

static int usage(void) {
        fprintf(stderr,
                "usage: ptnl-fuzz [-n COUNT] [-t SECONDS] [-s SEED] [-k SKIP] [-f] [-x]\n"
                "       ptnl-fuzz -d FAMILY-ID [-n COUNT] [-s SEED] [-k SKIP]\n"
                "       ptnl-fuzz -F [-c REQUEST]\n"
                );
        return 2;
}

int main(int argc, char *argv[]) {
        static Msg m;
        uint64_t count = 10000, skip = 0, seed = 0;
        double seconds = 0;
        bool have_seed = false, faults = false, systematic = false, dry = false;
        const char *only = NULL;
        double start, secs, t;
        int c, r;

        while ((c = getopt(argc, argv, "n:t:s:k:fFc:xd:")) >= 0) {
                switch (c) {
                case 'n':
                        count = strtoull(optarg, NULL, 0);
                        break;
                case 't':
                        seconds = strtod(optarg, NULL);
                        break;
                case 's':
                        seed = strtoull(optarg, NULL, 0);
                        have_seed = true;
                        break;
                case 'k':
                        skip = strtoull(optarg, NULL, 0);
                        break;
                case 'f':
                        faults = true;
                        break;
                case 'F':
                        systematic = true;
                        break;
                case 'c':
                        only = optarg;
                        break;
                case 'x':
                        fz.hex = true;
                        break;
                case 'd':
                        fz.family = (uint16_t) strtoul(optarg, NULL, 0);
                        dry = true;
                        break;
                default:
                        return usage();
                }
        }
        if (optind != argc || (faults && systematic) || (dry && (faults || systematic)) ||
            (only && !systematic))
                return usage();
        if (!have_seed) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                seed = (uint64_t) ts.tv_sec * 1000003u ^ (uint64_t) ts.tv_nsec ^ (uint64_t) getpid();
        }
        rng_state = seed;
        fz.fd = -1;
        fz.fault_fd = -1;
        fz.seq = (uint32_t) (seed * 2654435761u);
        fz.ctl_seq = fz.seq + 0x80000000u;
        if (dry) {
                for (uint64_t i = 0; i < skip + count; i++) {
                        Exchange x;

                        gen_message(&m);
                        view(&m, &x);
                        if (i >= skip)
                                hexdump(i, &m);
                }
                return 0;
        }

        r = resolve_family();
        if (r < 0) {
                fprintf(stderr, "ptnl-fuzz: cannot resolve the %s family%s: %s\n", PASSTHRU_GENL_NAME,
                        r == -ENOENT ? " (is passthru.ko loaded?)" : "", strerror(-r));
                return 1;
        }
        fz.in_group = fz.group != 0;
        fz.ext_ack = true;
        r = reopen_main();
        if (r < 0) {
                fprintf(stderr, "ptnl-fuzz: cannot open a netlink socket: %s\n", strerror(-r));
                return 1;
        }
        if (faults || systematic) {
                const char *path = faults ? "/proc/thread-self/make-it-fail" : "/proc/thread-self/fail-nth";

                fz.fault_fd = open(path, O_RDWR | O_CLOEXEC);
                if (fz.fault_fd < 0) {
                        fprintf(stderr, "ptnl-fuzz: cannot open %s: %m\n", path);
                        return 1;
                }
        }
        printf("ptnl-fuzz: seed %" PRIu64 ", family %s id %u, events group %u, uid %u%s\n", seed,
               PASSTHRU_GENL_NAME, fz.family, fz.group, (unsigned) getuid(),
               faults ? ", make-it-fail around each exchange" :
               systematic ? ", fail-nth sweep" : "");
        fflush(stdout);

        start = now();
        if (systematic) {
                r = sweep(only);
                secs = now() - start;
                printf("ptnl-fuzz: sweep took %.1f s\n", secs);
                print_errnos("ptnl-fuzz: errors by errno:", fz.st.reply_errs);
                return r;
        }

        for (uint64_t i = 0; i < skip + count; i++) {
                gen_message(&m);
                if (i < skip)
                        continue;
                if (seconds > 0 && (i & 63) == 0 && now() - start > seconds)
                        break;
                if (fz.hex)
                        hexdump(i, &m);
                fz.st.messages++;
                switch (m.kind) {
                case KIND_REQUEST:
                        fz.st.requests++;
                        break;
                case KIND_GARBAGE:
                        fz.st.garbage++;
                        break;
                case KIND_CTRL:
                        fz.st.ctrl++;
                        break;
                default:
                        fz.st.special++;
                        break;
                }
                t = now();
                exchange(&m);
                t = now() - t;
                fz.st.time[m.kind] += t;
                if (m.kind == KIND_REQUEST) {
                        uint8_t cmd = m.len >= NLMSG_HDRLEN + 1 ? m.buf[NLMSG_HDRLEN] : 0;

                        fz.st.time_cmd[cmd <= PASSTHRU_CMD_UNHIDE ? cmd : 0] += t;
                }
                fz.st.latency[t < 1e-6 ? 0 : 31 - __builtin_clz((unsigned) (t * 1e6) | 1)]++;
                if (t > fz.st.slowest) {
                        fz.st.slowest = t;
                        fz.st.slowest_i = i;
                }
                if (fz.n_added == ADDED_MAX || (i + 1) % CLEANUP_EVERY == 0) {
                        t = now();
                        take_back_rules();
                        fz.st.time_cleanup += now() - t;
                }
        }
        take_back_rules();
        secs = now() - start;

        printf("ptnl-fuzz: sent %" PRIu64 " in %.1f s, %.0f msg/s: %" PRIu64 " requests (%" PRIu64
               " mutated, %" PRIu64 " batches), %" PRIu64 " garbage, %" PRIu64 " to nlctrl, %" PRIu64
               " socket games; %.1f MB\n",
               fz.st.messages, secs, secs > 0 ? (double) fz.st.messages / secs : 0.0, fz.st.requests,
               fz.st.mutated, fz.st.batches, fz.st.garbage, fz.st.ctrl, fz.st.special,
               (double) fz.st.bytes / 1e6);
        printf("ptnl-fuzz: sent %" PRIu64 ", ", fz.st.messages);
        print_errnos("errors by errno:", fz.st.reply_errs);
        print_errnos("ptnl-fuzz: sendmsg failed:", fz.st.send_errs);
        print_errnos("ptnl-fuzz: recvmsg failed:", fz.st.recv_errs);
        printf("ptnl-fuzz: replies: %" PRIu64 " acks, %" PRIu64 " dumps done, %" PRIu64 " dump entries, %"
               PRIu64 " events, %" PRIu64 " from nlctrl, %" PRIu64 " other\n",
               fz.st.acks, fz.st.dumps_done, fz.st.dump_entries, fz.st.events, fz.st.ctrl_replies,
               fz.st.other_replies);
        printf("ptnl-fuzz: accepted GET=%" PRIu64 " HIDE=%" PRIu64 " UNHIDE=%" PRIu64
               "; rules taken back %" PRIu64 "; sockets %" PRIu64 " (%" PRIu64 " after trouble)\n",
               fz.st.accepted[PASSTHRU_CMD_GET], fz.st.accepted[PASSTHRU_CMD_HIDE],
               fz.st.accepted[PASSTHRU_CMD_UNHIDE], fz.st.rules_taken_back, fz.st.sockets,
               fz.st.reopened_after_trouble);
        printf("ptnl-fuzz: time: requests %.1f s (GET %.1f, HIDE %.1f, UNHIDE %.1f, other %.1f), garbage %.1f s, "
               "nlctrl %.1f s, socket games %.1f s, taking rules back %.1f s; slowest: message %" PRIu64 ", %.2f s\n",
               fz.st.time[KIND_REQUEST], fz.st.time_cmd[PASSTHRU_CMD_GET], fz.st.time_cmd[PASSTHRU_CMD_HIDE],
               fz.st.time_cmd[PASSTHRU_CMD_UNHIDE], fz.st.time_cmd[0], fz.st.time[KIND_GARBAGE],
               fz.st.time[KIND_CTRL], fz.st.time[KIND_SPECIAL], fz.st.time_cleanup, fz.st.slowest_i,
               fz.st.slowest);
        printf("ptnl-fuzz: exchange time under: p50 %.2g ms, p90 %.2g ms, p99 %.2g ms, max %.0f ms\n",
               latency_at(500), latency_at(900), latency_at(990), fz.st.slowest * 1e3);
        return 0;
}
