/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "macro.h"
#include "netlink.h"

struct PtNetlink {
        struct nl_sock *sk;             /* requests and their replies */
        struct nl_sock *events;         /* the "events" multicast group */
        int family;
};

/* State of one request: its result and the kernel's explanation. */
typedef struct Request {
        int error;
        char *msg;
        PtNlDevice *devices;
        size_t n_devices;
        PtNlEventFn event_fn;
        void *userdata;
} Request;

static void nl_msg_freep(struct nl_msg **m) {
        if (*m)
                nlmsg_free(*m);
}

static void nl_cb_putp(struct nl_cb **cb) {
        if (*cb)
                nl_cb_put(*cb);
}

static const struct nla_policy attr_policy[PASSTHRU_A_MAX + 1] = {
        [PASSTHRU_A_ADDRESS] = { .type = NLA_NUL_STRING, .maxlen = PASSTHRU_ADDRESS_LEN },
        [PASSTHRU_A_VENDOR] = { .type = NLA_U16 },
        [PASSTHRU_A_DEVICE] = { .type = NLA_U16 },
        [PASSTHRU_A_STATE] = { .type = NLA_U8 },
        [PASSTHRU_A_RULE] = { .type = NLA_NUL_STRING },
        [PASSTHRU_A_DRIVER] = { .type = NLA_NUL_STRING },
        [PASSTHRU_A_REASON] = { .type = NLA_NUL_STRING },
        [PASSTHRU_A_EVENT] = { .type = NLA_U8 },
};

/* libnl's NLE_* to errno, for the few that can happen here. */
static int errno_from_nle(int nle) {
        if (nle >= 0)
                return 0;
        switch (-nle) {
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_PERM:
                return -EPERM;
        case NLE_OBJ_NOTFOUND:
                return -ENOENT;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_INVAL:
        case NLE_MSG_TOOSHORT:
        case NLE_MSG_TRUNC:
        case NLE_PARSE_ERR:
                return -EBADMSG;
        case NLE_AGAIN:
                return -EAGAIN;
        case NLE_INTR:
                return -EINTR;
        case NLE_BUSY:
                return -EBUSY;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_NODEV:
                return -ENODEV;
        default:
                return -EIO;
        }
}

/* libnl checks the length of an NLA_NUL_STRING, not that it holds its NUL. */
static bool string_terminated(const struct nlattr *a) {
        return !a || (nla_len(a) > 0 && memchr(nla_data(a), '\0', (size_t) nla_len(a)));
}

static void copy_string(char *dst, size_t size, struct nlattr *a) {
        if (!a)
                return;
        snprintf(dst, size, "%s", nla_get_string(a));
}

static int parse_device(struct nl_msg *msg, PtNlDevice *d) {
        struct nlattr *tb[PASSTHRU_A_MAX + 1];
        int r;

        r = genlmsg_parse(nlmsg_hdr(msg), 0, tb, PASSTHRU_A_MAX, (struct nla_policy *) attr_policy);
        if (r < 0)
                return errno_from_nle(r);
        if (!tb[PASSTHRU_A_ADDRESS])
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(attr_policy); i++)
                if (attr_policy[i].type == NLA_NUL_STRING && !string_terminated(tb[i]))
                        return -EBADMSG;

        *d = (PtNlDevice) {};
        copy_string(d->address, sizeof(d->address), tb[PASSTHRU_A_ADDRESS]);
        copy_string(d->rule, sizeof(d->rule), tb[PASSTHRU_A_RULE]);
        copy_string(d->driver, sizeof(d->driver), tb[PASSTHRU_A_DRIVER]);
        copy_string(d->reason, sizeof(d->reason), tb[PASSTHRU_A_REASON]);
        if (tb[PASSTHRU_A_VENDOR] && tb[PASSTHRU_A_DEVICE]) {
                d->present = true;
                d->vendor = nla_get_u16(tb[PASSTHRU_A_VENDOR]);
                d->device = nla_get_u16(tb[PASSTHRU_A_DEVICE]);
        }
        if (tb[PASSTHRU_A_STATE])
                d->state = nla_get_u8(tb[PASSTHRU_A_STATE]);
        if (tb[PASSTHRU_A_EVENT])
                d->event = nla_get_u8(tb[PASSTHRU_A_EVENT]);
        return 0;
}

static int on_dump_entry(struct nl_msg *msg, void *arg) {
        Request *req = arg;
        PtNlDevice *n;
        int r;

        n = reallocarray(req->devices, req->n_devices + 1, sizeof(*n));
        if (!n) {
                req->error = -ENOMEM;
                return NL_STOP;
        }
        req->devices = n;
        r = parse_device(msg, &n[req->n_devices]);
        if (r < 0) {
                req->error = r;
                return NL_STOP;
        }
        req->n_devices++;
        return NL_OK;
}

static int on_event(struct nl_msg *msg, void *arg) {
        Request *req = arg;
        PtNlDevice ev;

        /* Too short for a generic netlink header: no command to read. */
        if (!genlmsg_valid_hdr(nlmsg_hdr(msg), 0) || genlmsg_hdr(nlmsg_hdr(msg))->cmd != PASSTHRU_CMD_EVENT)
                return NL_SKIP;
        if (parse_device(msg, &ev) < 0)
                return NL_SKIP;      /* a malformed event is not our reader's problem */
        req->event_fn(&ev, req->userdata);
        return NL_OK;
}

/* Error replies, with the extended ACK's message when the kernel sent one. */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *) ((const char *) err - NLMSG_HDRLEN);
        struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
        Request *req = arg;
        size_t off;

        (void) nla;
        req->error = err->error;
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return NL_STOP;

        off = NLMSG_HDRLEN + sizeof(*err);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += err->msg.nlmsg_len - NLMSG_HDRLEN;
        if (off >= nlh->nlmsg_len)
                return NL_STOP;
        if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *) ((char *) nlh + off),
                      nlh->nlmsg_len - off, NULL) < 0)
                return NL_STOP;
        if (tb[NLMSGERR_ATTR_MSG])
                req->msg = strndup(nla_data(tb[NLMSGERR_ATTR_MSG]), nla_len(tb[NLMSGERR_ATTR_MSG]));
        return NL_STOP;
}

static int on_any_seq(struct nl_msg *msg, void *arg) {
        (void) msg;
        (void) arg;
        return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg) {
        (void) msg;
        ((Request *) arg)->error = 0;
        return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg) {
        (void) msg;
        (void) arg;
        return NL_STOP;
}

static struct nl_sock *new_socket(void) {
        struct nl_sock *sk;
        int one = 1;

        sk = nl_socket_alloc();
        if (!sk)
                return NULL;
        if (genl_connect(sk) < 0) {
                nl_socket_free(sk);
                return NULL;
        }
        /* Best effort: without it, errors just come without explanation. */
        (void) setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void) setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        return sk;
}

int ptnl_open(PtNetlink **ret) {
        _cleanup_(ptnl_closep) PtNetlink *nl = NULL;

        nl = calloc(1, sizeof(*nl));
        if (!nl)
                return -ENOMEM;
        nl->sk = new_socket();
        if (!nl->sk)
                return -errno ?: -EIO;
        nl->family = genl_ctrl_resolve(nl->sk, PASSTHRU_GENL_NAME);
        if (nl->family < 0)
                return nl->family == -NLE_OBJ_NOTFOUND ? -ENOENT : errno_from_nle(nl->family);
        *ret = TAKE_PTR(nl);
        return 0;
}

PtNetlink *ptnl_close(PtNetlink *nl) {
        if (!nl)
                return NULL;
        if (nl->events)
                nl_socket_free(nl->events);
        nl_socket_free(nl->sk);
        free(nl);
        return NULL;
}

/* The callbacks of a request: the devices of a dump, its ACK or error, the end of a dump. */
static struct nl_cb *reply_callbacks(Request *req) {
        struct nl_cb *cb;

        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return NULL;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_dump_entry, req);
        nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, req);
        nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, req);
        nl_cb_err(cb, NL_CB_CUSTOM, on_error, req);
        return cb;
}

/* Read until the request's ACK, error or end of dump. */
static int read_replies(struct nl_sock *sk, struct nl_cb *cb, int flags, Request *req) {
        int r;

        req->error = 1;
        while (req->error > 0) {
                r = nl_recvmsgs(sk, cb);
                if (r < 0 && req->error > 0)
                        return errno_from_nle(r);
                if (flags & NLM_F_DUMP && req->error > 0 && r >= 0)
                        req->error = 0;  /* NLMSG_DONE ended the dump */
        }
        return req->error;
}

/* Send one request and read until its ACK, error or end of dump. */
static int transact(PtNetlink *nl, uint8_t cmd, int flags, const char *rule, Request *req) {
        _cleanup_(nl_msg_freep) struct nl_msg *msg = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        int r;

        msg = nlmsg_alloc();
        cb = reply_callbacks(req);
        if (!msg || !cb)
                return -ENOMEM;
        if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags | NLM_F_ACK, cmd,
                         PASSTHRU_GENL_VERSION))
                return -ENOMEM;
        if (rule && nla_put_string(msg, PASSTHRU_A_RULE, rule) < 0)
                return -E2BIG;

        r = nl_send_auto(nl->sk, msg);
        if (r < 0)
                return errno_from_nle(r);
        return read_replies(nl->sk, cb, flags, req);
}

int ptnl_get(PtNetlink *nl, PtNlDevice **ret, size_t *ret_n) {
        Request req = {};
        int r;

        r = transact(nl, PASSTHRU_CMD_GET, NLM_F_DUMP, NULL, &req);
        free(req.msg);
        if (r < 0) {
                free(req.devices);
                return r;
        }
        *ret = req.devices;
        *ret_n = req.n_devices;
        return 0;
}

static int change_rule(PtNetlink *nl, uint8_t cmd, const char *rule, char **ret_msg) {
        Request req = {};
        int r;

        r = transact(nl, cmd, 0, rule, &req);
        if (ret_msg)
                *ret_msg = r < 0 ? TAKE_PTR(req.msg) : NULL;
        free(req.msg);
        free(req.devices);
        return r;
}

int ptnl_hide(PtNetlink *nl, const char *rule, char **ret_msg) {
        return change_rule(nl, PASSTHRU_CMD_HIDE, rule, ret_msg);
}

int ptnl_unhide(PtNetlink *nl, const char *rule, char **ret_msg) {
        return change_rule(nl, PASSTHRU_CMD_UNHIDE, rule, ret_msg);
}

int ptnl_subscribe(PtNetlink *nl) {
        int group, r;

        if (nl->events)
                return 0;
        group = genl_ctrl_resolve_grp(nl->sk, PASSTHRU_GENL_NAME, PASSTHRU_GENL_MCGRP_EVENTS);
        if (group < 0)
                return errno_from_nle(group);
        nl->events = new_socket();
        if (!nl->events)
                return -errno ?: -EIO;
        r = nl_socket_add_membership(nl->events, group);
        if (r >= 0)
                r = nl_socket_set_nonblocking(nl->events);
        if (r < 0) {
                nl_socket_free(TAKE_PTR(nl->events));
                return errno_from_nle(r);
        }
        return 0;
}

int ptnl_event_fd(PtNetlink *nl) {
        return nl->events ? nl_socket_get_fd(nl->events) : -EBADF;
}

/* The callbacks of the events socket. */
static struct nl_cb *event_callbacks(Request *req) {
        struct nl_cb *cb;

        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return NULL;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, req);
        /* Multicast messages carry no sequence number of ours. */
        nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_any_seq, NULL);
        return cb;
}

/* Deliver the events of one read of the (non-blocking) socket; call it again when it polls readable. */
int ptnl_read_events(PtNetlink *nl, PtNlEventFn fn, void *userdata) {
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        Request req = { .event_fn = fn, .userdata = userdata };
        int r;

        if (!nl->events)
                return -EBADF;
        cb = event_callbacks(&req);
        if (!cb)
                return -ENOMEM;
        r = nl_recvmsgs(nl->events, cb);
        if (r == -NLE_AGAIN)
                return 0;
        return errno_from_nle(r);
}

/*
 * The socket of ptnl_parse_reply() and ptnl_parse_events(): one read gives
 * the bytes, as from the kernel; the next would block.
 */
static _Thread_local struct {
        const void *data;
        size_t size;
        bool read;
} feed;

static int feed_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf, struct ucred **creds) {
        (void) sk;
        (void) creds;
        if (feed.read)
                return -NLE_AGAIN;
        feed.read = true;
        if (feed.size == 0)
                return 0;
        if (feed.size > INT_MAX)
                return -NLE_MSGSIZE;
        *buf = malloc(feed.size);
        if (!*buf)
                return -NLE_NOMEM;
        memcpy(*buf, feed.data, feed.size);
        *nla = (struct sockaddr_nl) { .nl_family = AF_NETLINK };
        return (int) feed.size;
}

static void nl_socket_freep(struct nl_sock **sk) {
        if (*sk)
                nl_socket_free(*sk);
}

static struct nl_sock *feed_socket(struct nl_cb *cb, const void *data, size_t size) {
        struct nl_sock *sk;

        sk = nl_socket_alloc();
        if (!sk)
                return NULL;
        nl_socket_disable_auto_ack(sk);         /* and so libnl's sequence check */
        nl_cb_overwrite_recv(cb, feed_recv);
        feed.data = data;
        feed.size = size;
        feed.read = false;
        return sk;
}

int ptnl_parse_reply(const void *data, size_t size, bool dump, PtNlDevice **ret, size_t *ret_n, char **ret_msg) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        Request req = {};
        int r;

        cb = reply_callbacks(&req);
        if (!cb)
                return -ENOMEM;
        sk = feed_socket(cb, data, size);
        if (!sk)
                return -ENOMEM;
        r = read_replies(sk, cb, dump ? NLM_F_DUMP : 0, &req);
        if (r < 0) {
                free(req.devices);
                *ret_msg = TAKE_PTR(req.msg);
                return r;
        }
        free(req.msg);
        *ret = req.devices;
        *ret_n = req.n_devices;
        *ret_msg = NULL;
        return 0;
}

int ptnl_parse_events(const void *data, size_t size, PtNlEventFn fn, void *userdata) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        Request req = { .event_fn = fn, .userdata = userdata };
        int r;

        cb = event_callbacks(&req);
        if (!cb)
                return -ENOMEM;
        sk = feed_socket(cb, data, size);
        if (!sk)
                return -ENOMEM;
        r = nl_recvmsgs(sk, cb);
        if (r == -NLE_AGAIN)
                return 0;
        return errno_from_nle(r);
}

const char *ptnl_state_to_string(uint8_t state) {
        static const char *const table[] = {
                [PASSTHRU_STATE_CLAIMED] = "claimed",
                [PASSTHRU_STATE_HELD] = "held",
                [PASSTHRU_STATE_UNBOUND] = "unbound",
                [PASSTHRU_STATE_MISMATCH] = "mismatch",
                [PASSTHRU_STATE_ABSENT] = "absent",
        };
        return state < ELEMENTSOF(table) && table[state] ? table[state] : "unknown";
}

const char *ptnl_event_to_string(uint8_t event) {
        static const char *const table[] = {
                [PASSTHRU_EVENT_CLAIM] = "claim",
                [PASSTHRU_EVENT_RELEASE] = "release",
                [PASSTHRU_EVENT_ADD] = "add",
                [PASSTHRU_EVENT_REMOVE] = "remove",
                [PASSTHRU_EVENT_ERROR] = "error",
        };
        return event < ELEMENTSOF(table) && table[event] ? table[event] : "unknown";
}
