#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""docs/DESIGN.md's D-Bus tables against the daemon's vtables, the names
tables and passthructl.

Reads the Manager methods, Manager properties, Signals and Device
properties tables of docs/DESIGN.md and the SD_BUS_* entries of
daemon/manager-dbus.c and daemon/device-dbus.c; the States and Errors
tables and LeaseReleased's reasons against include/passthru-names.h's
PT_DEVICE_STATES, PT_ERRORS (name and errno) and PT_LEASE_REASONS; and
every property in passthructl's map (cli/client.c) against the Device
properties, with its type; the netlink state and event names of
daemon/netlink.c against passthru(4) and docs/DESIGN.md.  Prints "PASS|FAIL unit.docs.NAME [why]" for
each, failing on any difference (in either direction, but for
passthructl, which need not read every property).  With --contract,
prints the documented members instead, one per line ("Manager method NAME
IN OUT", "Manager property NAME TYPE", "Manager signal NAME SIGNATURE",
"Device property NAME TYPE"), which the daemon VM suite compares with the
real bus's introspection."""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def table(text, heading):
    """The rows (lists of cells, backquotes stripped) of the table under ### heading."""
    m = re.search(r"^### " + re.escape(heading) + r"\n(.*?)(?=^#|\Z)", text, re.S | re.M)
    if not m:
        raise SystemExit(f"docs/DESIGN.md has no section '### {heading}'")
    rows = []
    for line in m.group(1).splitlines():
        if not line.startswith("|") or re.match(r"^\|\s*-", line):
            continue
        cells = [c.strip().strip("`").strip() for c in line.strip().strip("|").split("|")]
        rows.append(cells)
    return rows[1:]     # without the header row


def documented():
    text = open(os.path.join(TOP, "docs/DESIGN.md")).read()
    out = {}
    for name, sig, *_ in table(text, "Manager methods"):
        m = re.match(r"^\((.*)\) -> (\(\)|\S+)$", sig)
        if not m:
            raise SystemExit(f"docs/DESIGN.md: method {name}: signature '{sig}' is not '(IN) -> OUT'")
        out[("Manager", "method", name)] = (m.group(1), "" if m.group(2) == "()" else m.group(2))
    for name, typ, *_ in table(text, "Manager properties"):
        out[("Manager", "property", name)] = (typ,)
    for name, args, *_ in table(text, "Signals"):
        sig = "".join(a.split()[0] for a in args.strip("()").split(",") if a.strip())
        out[("Manager", "signal", name)] = (sig,)
    for name, typ, *_ in table(text, "Device properties"):
        out[("Device", "property", name)] = (typ,)
    return out


def in_code():
    out = {}
    src = open(os.path.join(TOP, "daemon/manager-dbus.c")).read()
    v = src[src.index("manager_vtable[]"):]
    v = v[:v.index("SD_BUS_VTABLE_END")]
    for m in re.finditer(r'SD_BUS_METHOD_WITH_ARGS\(\s*"(\w+)",\s*(SD_BUS_NO_ARGS|SD_BUS_ARGS\(((?:"[^"]*"|[^()"])*)\)),\s*'
                         r'(SD_BUS_NO_RESULT|SD_BUS_RESULT\(((?:"[^"]*"|[^()"])*)\))', v, re.S):
        ins = "".join(re.findall(r'"([^"]+)",\s*\w+', m.group(3) or ""))
        outs = "".join(re.findall(r'"([^"]+)",\s*\w+', m.group(5) or ""))
        out[("Manager", "method", m.group(1))] = (ins, outs)
    for m in re.finditer(r'SD_BUS_METHOD\(\s*"(\w+)",\s*(NULL|"[^"]*"),\s*(NULL|"[^"]*")', v):
        out[("Manager", "method", m.group(1))] = (m.group(2).strip('"') if m.group(2) != "NULL" else "",
                                                   m.group(3).strip('"') if m.group(3) != "NULL" else "")
    for m in re.finditer(r'SD_BUS_PROPERTY\(\s*"(\w+)",\s*"([^"]+)"', v):
        out[("Manager", "property", m.group(1))] = (m.group(2),)
    for m in re.finditer(r'SD_BUS_SIGNAL_WITH_ARGS\(\s*"(\w+)",\s*SD_BUS_ARGS\((.*?)\)', v, re.S):
        out[("Manager", "signal", m.group(1))] = ("".join(re.findall(r'"([^"]+)",\s*\w+', m.group(2))),)
    src = open(os.path.join(TOP, "daemon/device-dbus.c")).read()
    v = src[src.index("device_vtable[]"):]
    v = v[:v.index("SD_BUS_VTABLE_END")]
    for m in re.finditer(r'PROP\(\s*"?(\w+)"?,\s*"([^"]+)"', v):
        out[("Device", "property", m.group(1))] = (m.group(2),)
    return out


def x_macro(name):
    """The rows of include/passthru-names.h's X-macro NAME: lists of its arguments (strings unquoted)."""
    src = open(os.path.join(TOP, "include/passthru-names.h")).read()
    m = re.search(r"^#define " + name + r"\(X\)((?:.*\\\n)*.*)$", src, re.M)
    if not m:
        raise SystemExit(f"include/passthru-names.h has no X-macro {name}")
    body = re.sub(r"/\*.*?\*/", "", m.group(1).replace("\\\n", "\n"))
    return [[a.strip().strip('"') for a in row.split(",")] for row in re.findall(r"X\(([^)]*)\)", body)]


def names_tables():
    """({key: value} documented, {key: value} in the names tables) for every state, error and
    LeaseReleased reason: docs/DESIGN.md's States and Errors tables and the reasons its Signals table
    names, against passthru-names.h's PT_DEVICE_STATES, PT_ERRORS and PT_LEASE_REASONS."""
    text = open(os.path.join(TOP, "docs/DESIGN.md")).read()
    docs, code = {}, {}
    for state, *_ in table(text, "States"):
        docs[("state", state)] = ()
    for _, name, _ in x_macro("PT_DEVICE_STATES"):
        code[("state", name)] = ()
    for name, errno, *_ in table(text, "Errors"):
        docs[("error", name)] = (errno,)
    for _, tail, errno in x_macro("PT_ERRORS"):
        code[("error", "org.passthru1.Error." + tail)] = (errno,)
    for name, _, when, *_ in table(text, "Signals"):
        if name == "LeaseReleased":
            m = re.search(r"reason (.*)$", when)
            # (table() took the cell's closing backquote)
            for reason in re.findall(r"`([^`]+)(?:`|$)", m.group(1) if m else ""):
                docs[("reason", reason)] = ()
    for _, name in x_macro("PT_LEASE_REASONS"):
        code[("reason", name)] = ()
    return docs, code


def cli_properties():
    """passthructl's Device property map (cli/client.c) as {("Device", "property", NAME): (TYPE,)}."""
    sigs = {"STRING": "s", "STRV": "as", "BOOLEAN": "b", "UINT16": "q", "UINT32": "u", "INT32": "i"}
    src = open(os.path.join(TOP, "cli/client.c")).read()
    v = src[src.index("device_properties[] = {"):]
    v = v[:v.index("};")]
    return {("Device", "property", m.group(2)): (sigs[m.group(1)],)
            for m in re.finditer(r"\b(STRING|STRV|BOOLEAN|UINT16|UINT32|INT32)\(\"(\w+)\"", v)}


def netlink_names():
    """The netlink family's state and event names as {key: ()}: (passthru(4)'s, docs/DESIGN.md's events,
    daemon/netlink.c's, which passthrud and ptnl print)."""
    src = open(os.path.join(TOP, "daemon/netlink.c")).read()
    man = open(os.path.join(TOP, "docs/man/passthru.4")).read()
    text = open(os.path.join(TOP, "docs/DESIGN.md")).read()
    code = {("netlink", kind.lower(), name): ()
            for kind, name in re.findall(r'\[PASSTHRU_(STATE|EVENT)_\w+\] = "([\w-]+)"', src)}
    in_man = {}
    for kind, pattern in (("state", r"state (.*?), the rule"), ("event", r"announces (.*?)\.\n")):
        m = re.search(pattern, man, re.S)
        for name in re.findall(r"\\fI([\w-]+)\\fR", m.group(1) if m else ""):
            in_man[("netlink", kind, name)] = ()
    m = re.search(r"multicast group `events` \(([^)]*)\)", text)
    in_design = {("netlink", "event", name): () for name in re.split(r",\s*", m.group(1) if m else "") if name}
    return in_man, in_design, code


def compare(docs, code, what, code_name, both_ways=True, docs_name="docs/DESIGN.md"):
    """Print PASS/FAIL unit.docs.WHAT.KEY for each key; returns the number failed."""
    failed = 0
    for key in sorted(set(docs) | set(code)):
        name = ".".join((what,) + key[1:] if what else key)
        if key not in code:
            if not both_ways:
                continue
            why = f"documented in {docs_name} but not in {code_name}"
        elif key not in docs:
            why = f"in {code_name} but not documented in {docs_name}"
        elif docs[key] != code[key]:
            why = f"{docs_name} says {docs[key]}, {code_name} {code[key]}"
        else:
            print(f"PASS unit.docs.{name}")
            continue
        failed += 1
        print(f"FAIL unit.docs.{name} {why}")
    return failed


def main():
    docs = documented()
    if "--contract" in sys.argv:
        for key in sorted(docs):
            print(" ".join(key + docs[key]).rstrip())
        return 0
    failed = compare(docs, in_code(), "", "the daemon's vtable")
    # The states and errors: one table in passthru-names.h, one in docs/DESIGN.md.
    failed += compare(*names_tables(), "", "include/passthru-names.h")
    # What passthructl reads is documented, with the type the daemon sends.
    device = {k: v for k, v in docs.items() if k[0] == "Device"}
    failed += compare(device, cli_properties(), "cli", "passthructl's property map (cli/client.c)", both_ways=False)
    # The netlink family's state and event names.
    in_man, in_design, nl = netlink_names()
    failed += compare(in_man, nl, "", "daemon/netlink.c", docs_name="passthru(4)")
    failed += compare(in_design, {k: v for k, v in nl.items() if k[1] == "event"}, "design", "daemon/netlink.c")
    return 1 if failed else 0



if __name__ == "__main__":
    sys.exit(main())
