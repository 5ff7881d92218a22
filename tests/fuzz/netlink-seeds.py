#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write fuzz-netlink's seed corpus (tests/fuzz/corpus/netlink/): what
passthru.ko sends, message by message as include/uapi/linux/passthru.h
describes it, and a few edge cases.  Each file: one byte for the reader
(0 GET reply, 1 HIDE reply, 2 events), then the bytes of one read."""
import os
import struct
import sys

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI, NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x2, 0x100, 0x200
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2
FAMILY = 0x1c                                   # any id: the daemon does not check it
CMD_GET, CMD_HIDE, CMD_EVENT = 1, 2, 4
A_ADDRESS, A_VENDOR, A_DEVICE, A_STATE, A_RULE, A_DRIVER, A_REASON, A_EVENT = range(1, 9)
EINVAL, EEXIST = 22, 17


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def attr(kind, payload):
    return pad(struct.pack("=HH", 4 + len(payload), kind) + payload)


def string(kind, s):
    return attr(kind, s.encode() + b"\0")


def u8(kind, v):
    return attr(kind, struct.pack("=B", v))


def u16(kind, v):
    return attr(kind, struct.pack("=H", v))


def nlmsg(kind, flags, payload, seq=1):
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + pad(payload)


def genl(cmd, attrs, flags=0):
    return nlmsg(FAMILY, flags, struct.pack("=BBH", cmd, 1, 0) + b"".join(attrs))


def device(address, state, rule, ids=None, driver=None, reason=None):
    attrs = [string(A_ADDRESS, address)]
    if ids:
        attrs += [u16(A_VENDOR, ids[0]), u16(A_DEVICE, ids[1])]
    attrs += [u8(A_STATE, state), string(A_RULE, rule)]
    if driver:
        attrs.append(string(A_DRIVER, driver))
    if reason:
        attrs.append(string(A_REASON, reason))
    return genl(CMD_GET, attrs, NLM_F_MULTI)


def done():
    return nlmsg(NLMSG_DONE, NLM_F_MULTI, struct.pack("=i", 0))


def error(errno, request, tlvs=b"", capped=True):
    flags = (NLM_F_CAPPED if capped else 0) | (NLM_F_ACK_TLVS if tlvs else 0)
    echoed = request[:16] if capped else request
    return nlmsg(NLMSG_ERROR, flags, struct.pack("=i", -errno) + echoed + tlvs)


def event(kind, address, ids, rule=None):
    attrs = [u8(A_EVENT, kind), string(A_ADDRESS, address), u16(A_VENDOR, ids[0]), u16(A_DEVICE, ids[1])]
    if rule:
        attrs.append(string(A_RULE, rule))
    return genl(CMD_EVENT, attrs)


HIDE_REQUEST = genl(CMD_HIDE, [string(A_RULE, "(01:00.0)")])

SEEDS = {
    "get-two-devices": (0, device("0000:01:00.0", 1, "(0000:01:00.0)", (0x1234, 0x11e8), "passthru")
                        + device("0000:04:00.0", 4, "(0000:04:00.0=8086:10d3)", (0x1af4, 0x1041),
                                 reason="the rule pins other ids") + done()),
    "get-absent-device": (0, device("0000:02:00.0", 5, "(0000:02:00.0)") + done()),
    "get-ids-rule": (0, device("0000:03:00.0", 2, "ids 1234:11e8:ffffffff:ffffffff:20000:ff0000",
                               (0x1234, 0x11e8), "e1000e") + done()),
    "get-nothing": (0, done()),
    "get-longest-strings": (0, device("ffff:ff:1f.7", 255, "(" + "0" * 62 + ")", (0xffff, 0xffff),
                                      "d" * 40, "r" * 120) + done()),
    "get-error": (0, error(EINVAL, HIDE_REQUEST)),
    "hide-ack": (1, error(0, HIDE_REQUEST)),
    "hide-error-with-message": (1, error(EINVAL, HIDE_REQUEST,
                                         string(NLMSGERR_ATTR_MSG, "bad slot number")
                                         + attr(NLMSGERR_ATTR_OFFS, struct.pack("=I", 20)))),
    "hide-error-not-capped": (1, error(EEXIST, HIDE_REQUEST, string(NLMSGERR_ATTR_MSG, "rule already present"),
                                       capped=False)),
    "hide-error-bare": (1, error(EINVAL, HIDE_REQUEST)),
    "event-claim": (2, event(1, "0000:01:00.0", (0x1234, 0x11e8), "(0000:01:00.0)")),
    "event-two": (2, event(4, "0000:04:00.0", (0x1af4, 0x1041))
                  + event(3, "0000:05:00.0", (0x8086, 0x10d3), "(0000:05:*.*)")),
    "event-other-command": (2, genl(CMD_GET, [string(A_ADDRESS, "0000:01:00.0")])),
    "truncated": (0, device("0000:01:00.0", 1, "(0000:01:00.0)")[:30]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "netlink")
    os.makedirs(out, exist_ok=True)
    for name, (reader, data) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([reader]) + data)


if __name__ == "__main__":
    main()
