#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every program the host-side test scripts call comes from a package that
`make deps` installs (tests/deps.list), or from an Essential package that
every Debian system has.  Prints "PASS|FAIL unit.deps.NAME [why]" lines.

The scripts are read, not run: a command is the first word of a simple
command (after keywords, assignments and wrappers such as `timeout N`),
an absolute path a script copies into the test VM (`-b /usr/bin/X`,
`copy_with_libs /usr/bin/X`), or a program a Python helper starts."""
import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Scripts that run on the host (or in CI), and so depend on make deps.  The
# VM suites run inside the test VM, on what mkinitramfs copies in; the
# install suites inside the debootstrap guest (tests/install/mkrootfs.sh).
HOST_SCRIPTS = [
    "Makefile", "tests/check.sh", "tests/deps.sh", "tests/style.sh",
    "tests/bench/run.sh", "tests/dkms/build.sh", "tests/kernel/build.sh",
    "tests/unit/run.sh", "tests/unit/completion.sh", "tests/unit/cli.sh", "tests/unit/libvirt-hook.sh",
    "tests/unit/refresh-initramfs.sh",
    "tests/unit/install.sh",
    "tests/fuzz/run.sh", "tests/fuzz/nlfuzz-long.sh",
    "tests/vm/common.sh", "tests/vm/run.sh", "tests/vm/demo.sh", "tests/vm/demo-interactive.sh",
    "tests/vm/mkinitramfs.sh",
    "tests/install/run.sh", "tests/install/mkrootfs.sh", "tests/install/newkernel.sh", "tests/vm/qemu10.sh",
    "tests/deb.sh", "tests/kernel/boot-clean.sh",
    ".ci/run",
]
# Scripts of tests/ that run elsewhere: in the test VM (init, lib) or in the
# installed guest (guest-run and what the install suites source).
GUEST_SCRIPTS = [
    "tests/vm/init.sh", "tests/vm/lib.sh",
    "tests/install/guest-run.sh", "tests/install/boot-claims.sh", "tests/install/mark-lib.sh",
]
PY_SCRIPTS = ["tests/vm/vmrun.py", "tests/install/cockpit-browser.py", "tests/unit/cockpit-page.py"]

KEYWORDS = set("""if then else elif fi for in do done while until case esac function
select time return exit break continue local export readonly declare typeset
set unset shift source eval exec trap wait read printf echo test true false
cd pwd pushd popd getopts command type hash ulimit umask let mapfile readarray
builtin shopt alias unalias jobs kill disown enable help history caller
compgen complete compopt""".split())
WRAPPERS = {"timeout", "env", "nice", "ionice", "sudo", "xargs", "setpriv", "chroot",
            "stdbuf", "nohup", "exec", "command", "time", "!", "if", "then", "else",
            "elif", "do", "while", "until", "{", "}", "[[", "]]", "(", ")"}
WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_.+-]*$")


def read_list():
    """tests/deps.list: package -> the commands the tests take from it."""
    pkgs, provides = [], {}
    with open(os.path.join(TOP, "tests/deps.list")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            pkgs.append(line[0])
            for cmd in line[1:]:
                provides[cmd] = line[0]
    return pkgs, provides


def strip_comment(line):
    out, quote = [], None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t;"):
            break
        out.append(c)
    return "".join(out)


def quoted(m):
    """A double-quoted string is data, but its command substitutions run."""
    subs = re.findall(r"\$\(((?:[^()]|\([^()]*\))*)\)", m.group(0))
    return " ; ".join("$(" + x for x in subs) if subs else '""'


def shell_commands(path, funcs):
    """(command, line number) for each simple command of a shell script."""
    found = []
    text = open(os.path.join(TOP, path)).read()
    # Here-documents are data.
    text = re.sub(r"<<-?\s*'?(\w+)'?\n.*?\n\s*\1\n", "\n", text, flags=re.S)
    makefile = path.endswith("Makefile")
    in_array = cont = False
    for n, line in enumerate(text.splitlines(), 1):
        # A continued line holds more arguments, not a command.
        was_cont, cont = cont, line.rstrip().endswith("\\")
        if was_cont:
            continue
        # The words of an array literal spread over lines are data.
        if in_array:
            in_array = ")" not in strip_comment(line)
            continue
        if re.match(r"^\s*[A-Za-z_][A-Za-z0-9_]*\+?=\($", strip_comment(line).rstrip()):
            in_array = True
            continue
        if makefile:
            if not line.startswith("\t"):
                for m in re.finditer(r"\$\(shell (?:if )?(\S+)", line):
                    found.append((m.group(1), n))
                continue
            line = re.sub(r"^\t[@-]*", "", line)
            # $$( is the shell's, $(shell ...) runs too; other $(...) are make's.
            line = line.replace("$$(", "\0(").replace("$(shell ", "\0(")
            line = line.replace("$(MAKE)", "make").replace("$(CC)", "cc").replace("$(AR)", "ar")
            while re.search(r"\$\([^()]*\)", line):
                line = re.sub(r"\$\([^()]*\)", "MAKEVAR", line)
            line = line.replace("\0(", "$(").replace("$$", "$")
        line = strip_comment(line)
        # Drop quoted strings' contents but keep command substitutions in them.
        line = re.sub(r"'[^']*'", "''", line)
        line = re.sub(r'"(?:[^"\\]|\\.)*"', quoted, line)
        line = re.sub(r"\[\[.*?\]\]", "[[ ]]", line)
        # Arithmetic expansions hold names of variables, not commands.
        line = re.sub(r"\$\(\((?:[^()]|\([^()]*\))*\)\)", "0", line)
        for piece in re.split(r"\|\||&&|[|;&`]|\$\(|\(|\bthen\b|\bdo\b|\belse\b", line):
            words = piece.split()
            while words:
                w = words[0].strip('"')
                if w in WRAPPERS:
                    words = words[1:]
                    # timeout's duration, xargs' and env's options
                    while words and (words[0].startswith("-") or re.match(r"^[0-9.]+[smh]?$", words[0])):
                        words = words[1:]
                    continue
                if re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", w):
                    words = words[1:]   # an assignment before the command
                    continue
                break
            if not words:
                continue
            w = words[0].strip('"')
            if w.startswith("/") and re.match(r"^/[A-Za-z0-9_./+-]+$", w):
                found.append((w, n))
            elif WORD.match(w) and w != "MAKEVAR" and w not in KEYWORDS and w not in funcs and not w.endswith(")"):
                found.append((w, n))
        # Binaries the test VM's initramfs is built from.
        for m in re.finditer(r"(?:-b|copy_with_libs|install -m 0755)\s+(/(?:usr/)?s?bin/[A-Za-z0-9_.+-]+)", line):
            found.append((m.group(1), n))
    return found


def python_commands(path):
    found = []
    for n, line in enumerate(open(os.path.join(TOP, path)), 1):
        # and what WebDriver starts: the browser and its driver
        for m in re.finditer(r"(?:cmd = \[|Popen\(\[|run\(\[|call\(\[|Service\(|binary_location = )\s*\"([A-Za-z0-9_./+-]+)\"", line):
            found.append((m.group(1), n))
    return found


def owner(cmd):
    """The package that owns the program, or None."""
    path = cmd if cmd.startswith("/") else shutil.which(cmd)
    if not path:
        return None, None
    for p in (path, os.path.realpath(path)):
        for q in (p, p.replace("/usr/", "/", 1), "/usr" + p if not p.startswith("/usr/") else p):
            r = subprocess.run(["dpkg-query", "-S", q], capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout.split(":", 1)[0].split(",")[0].strip(), path
    return None, path


def essential(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Essential} ${Priority}", pkg],
                       capture_output=True, text=True)
    return r.stdout.split()[:1] == ["yes"] or "required" in r.stdout


def uncovered(pkgs, provides, scripts, py_scripts):
    """(name, reason) for each program the scripts call that nothing covers."""
    funcs = set()
    suites = os.path.join(TOP, "tests/vm/suites")
    for s in scripts + [f"tests/vm/suites/{x}" for x in os.listdir(suites)]:
        for line in open(os.path.join(TOP, s)):
            m = re.match(r"\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)", line)
            if m:
                funcs.add(m.group(1))
    uses = {}
    for s in scripts:
        for cmd, n in shell_commands(s, funcs):
            uses.setdefault(cmd, f"{s}:{n}")
    for s in py_scripts:
        for cmd, n in python_commands(s):
            uses.setdefault(cmd, f"{s}:{n}")
    result = []
    for cmd in sorted(uses):
        where = uses[cmd]
        name = re.sub(r"[^A-Za-z0-9_.+-]", "_", cmd.lstrip("/"))
        base = os.path.basename(cmd)
        if cmd in provides or base in provides:
            result.append((name, None))
            continue
        pkg, path = owner(cmd)
        if pkg and (pkg in pkgs or essential(pkg)):
            result.append((name, None))
        elif pkg:
            result.append((name, f"'{cmd}' ({where}) comes from package {pkg}, which tests/deps.list does not list"))
        elif path:
            result.append((name, f"'{cmd}' ({where}) is {path}, which no package owns; name its package in tests/deps.list"))
        else:
            result.append((name, f"'{cmd}' ({where}) is not installed and tests/deps.list names no package for it"))
    return result


def main():
    pkgs, provides = read_list()
    scripts = [s for s in HOST_SCRIPTS if os.path.exists(os.path.join(TOP, s))]
    failed = 0
    for name, why in uncovered(pkgs, provides, scripts, PY_SCRIPTS):
        if why:
            failed += 1
            print(f"FAIL unit.deps.{name} {why}")
        else:
            print(f"PASS unit.deps.{name}")
    # Every script of tests/ is read here or named as a guest's: a new host
    # script cannot slip past this check.
    import glob
    for f in sorted(glob.glob(os.path.join(TOP, "tests", "*.sh")) + glob.glob(os.path.join(TOP, "tests", "*", "*.sh"))):
        rel = os.path.relpath(f, TOP)
        if rel not in HOST_SCRIPTS and rel not in GUEST_SCRIPTS:
            failed += 1
            print(f"FAIL unit.deps.every_script_is_read {rel} is neither in HOST_SCRIPTS nor in GUEST_SCRIPTS (tests/unit/deps.py)")
    # The check itself can fail: without debootstrap's line, the install
    # test's call of it must be caught and named.
    pkgs2 = [p for p in pkgs if p != "debootstrap"]
    prov2 = {c: p for c, p in provides.items() if p != "debootstrap"}
    caught = [why for name, why in uncovered(pkgs2, prov2, ["tests/install/mkrootfs.sh"], [])
              if why and "'debootstrap'" in why and "mkrootfs.sh" in why]
    if caught:
        print("PASS unit.deps.an_unlisted_tool_is_named")
    else:
        failed += 1
        print("FAIL unit.deps.an_unlisted_tool_is_named dropping debootstrap from the list went unnoticed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
