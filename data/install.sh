#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make install / make uninstall: put the userspace of passthru in place.
#   data/install.sh install|uninstall|list
# Honours DESTDIR and PREFIX (default /usr/local).  Files that other
# programs only look for in fixed places (D-Bus policy, udev rules,
# initramfs-tools, dracut, modprobe.d) go there; Cockpit finds its page
# under $PREFIX/share/cockpit as under /usr/share/cockpit.  ROOTLIBDIR moves the
# systemd units and the udev rule (debian/rules: /lib, Debian 12's place
# for them, where debhelper looks).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-build}
sbindir=$PREFIX/sbin
libexecdir=$PREFIX/libexec/passthru
bindir=$PREFIX/bin
mandir=$PREFIX/share/man
if [[ $PREFIX == /usr ]]; then
    libdir=/usr/lib dbusdir=/usr/share/dbus-1/system.d udevdir=/usr/lib/udev/rules.d
else
    libdir=$PREFIX/lib dbusdir=/etc/dbus-1/system.d udevdir=/etc/udev/rules.d
fi
unitdir=$libdir/systemd/system
if [[ -n ${ROOTLIBDIR:-} ]]; then
    unitdir=$ROOTLIBDIR/systemd/system udevdir=$ROOTLIBDIR/udev/rules.d
fi

# mode source destination
files() {
    cat <<LIST
0755 $BUILD/passthrud $sbindir/passthrud
0755 $BUILD/passthructl $bindir/passthructl
0644 @data/passthrud.service.in $unitdir/passthrud.service
0644 data/passthrud.socket $unitdir/passthrud.socket
0644 data/passthru-initramfs.path $unitdir/passthru-initramfs.path
0644 @data/passthru-initramfs.service.in $unitdir/passthru-initramfs.service
0755 data/passthru-refresh-initramfs $libexecdir/passthru-refresh-initramfs
0644 @data/org.passthru1.service.in $PREFIX/share/dbus-1/system-services/org.passthru1.service
0644 data/org.passthru1.conf $dbusdir/org.passthru1.conf
0644 udev-rules/70-passthru.rules $udevdir/70-passthru.rules
0644 data/modprobe-passthru.conf /usr/lib/modprobe.d/passthru-vfio.conf
0644 data/sysusers-passthru.conf $libdir/sysusers.d/passthru.conf
0755 data/initramfs-tools/hook /usr/share/initramfs-tools/hooks/passthru
0755 data/initramfs-tools/init-top /usr/share/initramfs-tools/scripts/init-top/passthru
0755 data/dracut/module-setup.sh /usr/lib/dracut/modules.d/90passthru/module-setup.sh
0755 data/dracut/passthru-load.sh /usr/lib/dracut/modules.d/90passthru/passthru-load.sh
0644 data/passthructl.bash $PREFIX/share/bash-completion/completions/passthructl
0755 @data/libvirt-qemu-hook.in /etc/libvirt/hooks/qemu.d/50-passthru
0644 data/cockpit/manifest.json $PREFIX/share/cockpit/passthru/manifest.json
0644 data/cockpit/index.html $PREFIX/share/cockpit/passthru/index.html
0644 data/cockpit/passthru.js $PREFIX/share/cockpit/passthru/passthru.js
0644 data/cockpit/passthru.css $PREFIX/share/cockpit/passthru/passthru.css
0644 docs/man/passthru.4 $mandir/man4/passthru.4
0644 docs/man/passthrud.8 $mandir/man8/passthrud.8
0644 docs/man/passthructl.1 $mandir/man1/passthructl.1
0644 docs/man/passthru.conf.5 $mandir/man5/passthru.conf.5
LIST
}

case ${1:-} in
install)
    files | while read -r mode src dest; do
        if [[ $src == @* ]]; then
            src=${src#@}
            mkdir -p "$(dirname "$DESTDIR$dest")"
            sed -e "s|@sbindir@|$sbindir|g" -e "s|@libexecdir@|$libexecdir|g" -e "s|@bindir@|$bindir|g" "$src" >"$DESTDIR$dest"
            chmod "$mode" "$DESTDIR$dest"
        else
            install -D -m "$mode" "$src" "$DESTDIR$dest"
        fi
        echo "  $dest"
    done
    if [[ -z $DESTDIR ]]; then
        command -v systemd-sysusers >/dev/null && systemd-sysusers "$libdir/sysusers.d/passthru.conf" || true
        if command -v systemctl >/dev/null; then
            systemctl daemon-reload 2>/dev/null || true
            # Marks changed at run time reach the initramfs (passthrud(8)).
            systemctl enable --now passthru-initramfs.path 2>/dev/null ||
                systemctl enable passthru-initramfs.path 2>/dev/null || true
            # A running libvirt daemon finds the new hook when it reloads (docs/libvirt.md).
            systemctl try-reload-or-restart libvirtd.service virtqemud.service 2>/dev/null || true
        fi
        command -v udevadm >/dev/null && udevadm control --reload 2>/dev/null || true
    fi
    ;;
uninstall)
    # As apt remove does (debian/passthrud.prerm): the socket and the path
    # unit first (a connection in between would start passthrud again),
    # then passthrud, which must not run on from a deleted binary that no
    # policy lets anyone call.
    if [[ -z $DESTDIR ]] && command -v systemctl >/dev/null; then
        systemctl disable --now passthru-initramfs.path passthrud.socket 2>/dev/null || true
        systemctl stop passthrud.service 2>/dev/null || true
    fi
    files | while read -r mode src dest; do
        rm -f "$DESTDIR$dest"
        # and a directory of passthru's own, once empty (not /usr/local/sbin and the like, shared)
        dir=$(dirname "$dest")
        [[ ${dir##*/} != *passthru* ]] || rmdir --ignore-fail-on-non-empty "$DESTDIR$dir" 2>/dev/null || true
    done
    # What passthrud wrote goes too; an admin's passthru.conf stays.
    if head -n 1 "$DESTDIR/etc/modprobe.d/passthru.conf" 2>/dev/null | grep -q "Written by passthrud"; then
        rm -f "$DESTDIR/etc/modprobe.d/passthru.conf"
    fi
    # /run/passthru stays, as on apt purge (debian/passthrud.postrm): its
    # quarantine list and lease ledger hold until the boot ends, and a
    # passthrud installed again before then would hand a quarantined device
    # out as available, unreset.
    rm -rf "$DESTDIR/var/lib/passthru"
    if [[ -z $DESTDIR ]]; then
        command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
        echo "The initramfs still holds passthru's hook and marks until it is made again" \
            "(update-initramfs -u -k all, or dracut --regenerate-all --force)."
    fi
    ;;
list)
    files | awk '{ print $3 }'
    ;;
*)
    echo "usage: $0 install|uninstall|list" >&2
    exit 2
    ;;
esac
