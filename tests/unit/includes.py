#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's and the CLI's headers include each other without a cycle,
and the object layer reaches the bus layer only through the typed senders
of the *-dbus.h headers (no object header includes a *-dbus.h header).
Prints "PASS|FAIL unit.includes.NAME [why]"."""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def graph(directory):
    g = {}
    for name in sorted(os.listdir(os.path.join(TOP, directory))):
        if name.endswith(".h"):
            text = open(os.path.join(TOP, directory, name)).read()
            g[name] = [h for h in re.findall(r'^#include "([^"]+)"', text, re.M)
                       if os.path.exists(os.path.join(TOP, directory, h))]
    return g


def cycle(g):
    state = {}

    def visit(n, path):
        state[n] = "open"
        for m in g.get(n, []):
            if state.get(m) == "open":
                return path + [n, m]
            if m not in state:
                found = visit(m, path + [n])
                if found:
                    return found
        state[n] = "done"
        return None

    for n in g:
        if n not in state:
            found = visit(n, [])
            if found:
                return found[found.index(found[-1]):]
    return None


def main():
    failed = 0
    for d in ("daemon", "cli"):
        g = graph(d)
        c = cycle(g)
        if c:
            failed += 1
            print(f"FAIL unit.includes.{d}_headers_have_no_cycle {' -> '.join(c)}")
        else:
            print(f"PASS unit.includes.{d}_headers_have_no_cycle")
    g = graph("daemon")
    bad = [f"{h} includes {i}" for h, incs in g.items() if not h.endswith("-dbus.h")
           for i in incs if i.endswith("-dbus.h")]
    if bad:
        failed += 1
        print(f"FAIL unit.includes.object_headers_do_not_include_bus_headers {'; '.join(bad)}")
    else:
        print("PASS unit.includes.object_headers_do_not_include_bus_headers")
    # The check can fail: a made-up cycle is found.
    if cycle({"a.h": ["b.h"], "b.h": ["a.h"]}):
        print("PASS unit.includes.a_cycle_is_found")
    else:
        failed += 1
        print("FAIL unit.includes.a_cycle_is_found the cycle a.h -> b.h -> a.h went unnoticed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
