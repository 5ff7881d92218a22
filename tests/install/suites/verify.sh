# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage 2 of the real-install test: rebooted with
# passthru.hide=(01:00.0)(02:00.0) after stage 1 installed everything.

. /opt/passthru-test/boot-claims.sh

as_alice() {
    setpriv --reuid=1000 --regid=1000 --init-groups "$@"
}

testcase_hidden_devices_are_claimed_from_the_initramfs() {
    assert_claimed_from_initramfs "the initramfs"
}

testcase_udev_rule_started_passthrud_at_boot() {
    # Nothing has called the bus yet: the rule for devices bound to passthru did.
    systemctl is-active passthrud || fail "passthrud was not started at boot"
    udevadm info /sys/bus/pci/devices/$EDU | grep -q "SYSTEMD_WANTS=passthrud.service" ||
        fail "the udev rule did not tag $EDU: $(udevadm info /sys/bus/pci/devices/$EDU)"
}

testcase_dbus_activation_starts_a_clean_passthrud() {
    systemctl stop passthrud
    busctl call org.passthru1 /org/passthru1 org.passthru1.Manager ListDevices >/dev/null
    systemctl is-active passthrud || fail "passthrud is not active after a bus call"
    systemctl status passthrud --no-pager || true
    [ -z "$(journalctl -b -u passthrud -p err --no-pager -q)" ] ||
        fail "passthrud logged errors: $(journalctl -b -u passthrud -p err --no-pager -q)"
    systemd-analyze security passthrud --no-pager || true
}

testcase_every_hardening_line_is_in_force() {
    local unit=/usr/lib/systemd/system/passthrud.service key value shown
    sed -n '/^# Hardening/,/^\[Install\]/p' $unit | grep -E '^[A-Za-z]+=' | while IFS='=' read -r key value; do
        shown=$(systemctl show -p "$key" --value passthrud)
        echo "$key: unit '$value', in force '$shown'"
        [ -n "$shown" ] || fail "$key is not in force"
        case $key in
        CapabilityBoundingSet)
            for cap in $value; do
                echo "$shown" | tr 'A-Z' 'a-z' | grep -qw "$(echo "$cap" | tr 'A-Z' 'a-z')" || fail "$cap not in $shown"
            done
            [ "$(echo "$shown" | wc -w)" = "$(echo "$value" | wc -w)" ] || fail "bounding set $shown"
            ;;
        ProtectSystem|ProtectHome|NoNewPrivileges|PrivateTmp|ProtectHostname|ProtectClock|ProtectKernelLogs|\
        ProtectControlGroups|RestrictRealtime|RestrictSUIDSGID|LockPersonality|MemoryDenyWriteExecute|RestrictNamespaces)
            [ "$shown" = "$value" ] || fail "$key=$value but $shown"
            ;;
        esac
    done
    # A stop waits for passthrud alone, not for a return's unbind child stuck on a holder.
    [ "$(systemctl show -p KillMode --value passthrud)" = process ] ||
        fail "KillMode is $(systemctl show -p KillMode --value passthrud), not process"
    # And the daemon does its work under all of them: a lease, with DMA.
    grep -q '^NoNewPrivs:.*1' /proc/"$(systemctl show -p MainPID --value passthrud)"/status || fail "NoNewPrivs not set"
}

testcase_passthructl_list_show_check_json() {
    passthructl list >/tmp/list
    cat /tmp/list
    grep -q "^$EDU .*available" /tmp/list || fail "list"
    passthructl show 01:00.0 | grep -q "State: available" || fail "show"
    passthructl --json list | grep -q "\"address\":\"$EDU\"" || fail "--json list"
    passthructl --json show $NIC | grep -q '"state":"available"' || fail "--json show"
    passthructl check | tee /tmp/check
    grep -q "ok   IOMMU enabled" /tmp/check || fail "check: IOMMU"
    grep -q "IOMMU group [0-9]*: $EDU (passthru)" /tmp/check || fail "check: group of $EDU"
    passthructl --json check | grep -q '"ok":true' || fail "--json check"
}

# The installed completion, found by bash-completion's own loader, offers
# the devices the running passthrud lists.
testcase_bash_completion_offers_passthruds_devices() {
    bash -c '. /usr/share/bash-completion/bash_completion
        _completion_loader passthructl
        complete -p passthructl || exit 1
        COMP_WORDS=(passthructl show ""); COMP_CWORD=2; COMPREPLY=()
        _passthructl
        printf "%s\n" "${COMPREPLY[@]}"' >/tmp/completion 2>&1
    cat /tmp/completion
    grep -q "complete -F _passthructl passthructl" /tmp/completion || fail "bash-completion did not load passthructl's completion"
    grep -qx "$EDU" /tmp/completion || fail "'passthructl show <TAB>' does not offer $EDU"
    grep -qx "$NIC" /tmp/completion || fail "'passthructl show <TAB>' does not offer $NIC"
}

testcase_readme_maintenance_session() {
    busctl introspect org.passthru1 /org/passthru1 | grep -q '^\.Acquire' || fail "introspect"
    passthructl maintenance enter
    passthructl maintenance status | grep -q "Maintenance mode: on" || fail "status"
    passthructl hide --live 0000:02:00.0
    passthructl assign 01:00.0 demo
    passthructl show 01:00.0 | grep -q "Assigned to: demo" || fail "assign: $(passthructl show 01:00.0)"
    passthructl unassign 01:00.0 demo
    passthructl maintenance exit
    passthructl reset 01:00.0 | grep -q "available" || fail "reset"
    passthructl bogus 2>/dev/null && fail "a bad command succeeded"
    rc=0
    passthructl show 09:00.0 2>/dev/null || rc=$?
    [ $rc -eq 5 ] || fail "no such device: exit status $rc, not 5"
}

testcase_qemu_uses_a_granted_device_as_alice() {
    passthructl monitor >/tmp/monitor.out &
    MONITOR=$!
    printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-pci"}' '{"execute":"quit"}' |
        as_alice passthructl run --device 01:00.0 --vm demo --memory 256M -- \
        qemu-system-x86_64 -S -nodefaults -machine q35 -accel tcg -m 64 -display none \
        -device vfio-pci,host=$EDU,id=hostdev0 -qmp stdio >/tmp/qmp.out 2>/tmp/qemu.err ||
        fail "qemu: $(tail -n 3 /tmp/qemu.err)"
    cat /tmp/qmp.out
    grep -q '"qdev_id": "hostdev0"' /tmp/qmp.out || fail "query-pci does not show the vfio-pci device"
    grep -q '"vendor": 4660' /tmp/qmp.out && grep -q '"device": 4584' /tmp/qmp.out ||
        fail "query-pci does not show the edu ids"
    wait_available $EDU
    assert_staged $EDU
    kill $MONITOR
    cat /tmp/monitor.out
    grep -q "LeaseAcquired device $EDU, VM demo" /tmp/monitor.out || fail "monitor: no LeaseAcquired"
    grep -q "LeaseReleased device $EDU, VM demo, reason process-exited" /tmp/monitor.out || fail "monitor: no LeaseReleased"
    # The journal has the lease's fields.
    journalctl -b -o verbose PASSTHRU_DEVICE=$EDU PASSTHRU_EVENT=acquired --no-pager | tee /tmp/journal |
        grep -q "PASSTHRU_VM=demo" || fail "no structured journal entry: $(tail -n 5 /tmp/journal)"
}

# ---- the Cockpit page (data/cockpit/), in a real browser on the host ----

# web WORDS...: a line for the host's browser (tests/install/cockpit-browser.py,
# through vmrun.py); its answer is printed, and a "fail" fails the case.
web() {
    local reply
    ctl "host $*"
    read -r reply <&3
    echo "browser, $1: $reply"
    case $reply in
    ok*) ;;
    *) fail "browser, $1: ${reply#fail }" ;;
    esac
}

list_json() {
    passthructl --json list | base64 -w0
}

# What this case changes goes back, also when it fails: the NIC's mark,
# maintenance mode, Cockpit's settings; what Cockpit made in /etc (its
# certificate) is listed for the purge case, as libvirt's files are.
cockpit_case_cleanup() {
    passthructl maintenance enter >/dev/null 2>&1 || :
    passthructl unhide 0000:04:02.0 >/dev/null 2>&1 || :
    passthructl maintenance exit >/dev/null 2>&1 || :
    passthructl unassign 01:00.0 cockpit-demo >/dev/null 2>&1 || :
    rm -f /etc/cockpit/cockpit.conf
    # Without a file before, the unmark leaves passthrud's header alone.
    [ -s /tmp/modprobe.before ] || grep -q "^options" /etc/modprobe.d/passthru.conf || rm -f /etc/modprobe.d/passthru.conf
    cmp -s /tmp/modprobe.before /etc/modprobe.d/passthru.conf ||
        { [ ! -s /tmp/modprobe.before ] && [ ! -e /etc/modprobe.d/passthru.conf ]; } ||
        echo "modprobe.d/passthru.conf differs after the case: $(diff /tmp/modprobe.before /etc/modprobe.d/passthru.conf)"
    systemctl start passthru-initramfs.path
    find /etc/cockpit | sort >/root/cockpit-after
    diff /root/cockpit-before /root/cockpit-after | sed -n 's/^> //p' >/root/cockpit-made || :
}

# An administrator opens the page: it lists what passthructl lists; in
# maintenance mode a device is marked and another assigned from the page,
# and "reboot required" follows; a lease made from the shell appears with
# its VM and pid and goes when it ends, without a reload; the assignment is
# taken away from the page.  Then a user without administrative access
# finds every control disabled, is refused when the page calls anyway, and
# nothing changed.
testcase_cockpit_page_in_a_browser() {
    local run pid
    # The host's browser reaches Cockpit (9090) through the NIC vmrun.py forwards.
    mkdir -p /run/systemd/network /etc/cockpit
    printf '[Match]\nDriver=virtio_net\n\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
        >/run/systemd/network/50-passthru-test.network
    systemctl start systemd-networkd
    for i in $(seq 1 100); do
        grep -q 10.0.2.15 /proc/net/fib_trie && break
        sleep 0.1
    done
    grep -q 10.0.2.15 /proc/net/fib_trie || fail "no address on the forwarded NIC: $(networkctl --no-pager 2>&1)"
    # Plain HTTP: the connection stays inside QEMU's user network.
    printf '[WebService]\nAllowUnencrypted=true\n' >/etc/cockpit/cockpit.conf
    find /etc/cockpit | sort >/root/cockpit-before
    # The mark below is undone before the case ends: no initramfs refresh for it.
    systemctl stop passthru-initramfs.path
    cp /etc/modprobe.d/passthru.conf /tmp/modprobe.before 2>/dev/null || : >/tmp/modprobe.before
    trap cockpit_case_cleanup EXIT

    web login admin passthru-admin admin
    web table "$(list_json)"
    # Unless an earlier case left it so, no reboot is required before the mark.
    [ "$(busctl get-property $BUS RebootRequired)" = "b true" ] || web reboot-required no
    web screenshot 1-devices
    web maintenance on
    passthructl maintenance status | grep -q "Maintenance mode: on" || fail "the page's switch did not enter maintenance mode"
    # The bridged group's edu cannot go while its e1000 is the host's.
    web blocked 0000:04:01.0 "Group not viable: 0000:04:02.0 is on the host driver e1000"
    web mark 0000:04:02.0 on
    passthructl show 04:02.0 | grep -q "State: pending-reboot" || fail "not marked: $(passthructl show 04:02.0)"
    web assign $EDU cockpit-demo
    passthructl show 01:00.0 | grep -q "Assigned to: cockpit-demo" || fail "not assigned: $(passthructl show 01:00.0)"
    # A name with markup is refused by passthrud, and the page shows it as text.
    web assign-refused $EDU '<img/src=x/onerror=document.title=1>' org.freedesktop.DBus.Error.InvalidArgs
    passthructl show 01:00.0 | grep -q "Assigned to: cockpit-demo$" || fail "assignments changed: $(passthructl show 01:00.0)"
    web screenshot 2-marked-in-maintenance 0000:04:01.0
    web maintenance off
    web reboot-required yes
    [ "$(busctl get-property $BUS RebootRequired)" = "b true" ] || fail "passthrud does not require a reboot"
    web table "$(list_json)"
    web screenshot 3-reboot-required 0000:04:01.0

    setpriv --reuid=1000 --regid=1000 --init-groups passthructl run --device 01:00.0 --vm cockpit-demo -- sleep 600 &
    run=$!
    wait_state $EDU leased
    pid=$(dev_prop $EDU OwnerPid)
    [ "$pid" = "$run" ] || fail "OwnerPid $pid, not passthructl run's $run"
    web row $EDU state=leased owner=cockpit-demo owner_pid=$pid driver=vfio-pci
    web screenshot 4-leased $EDU
    # passthrud's refusal reaches the page with its name and message.
    web refused org.passthru1.Error.LeasesActive
    passthructl maintenance status | grep -q "Maintenance mode: off" || fail "maintenance mode entered under a lease"
    pkill -x -P $run sleep
    wait $run || :
    wait_available $EDU
    # Back on passthru, not staged: the refused maintenance mode is still
    # asked for (no return stages a group until ExitMaintenanceMode, or
    # an EnterMaintenanceMode that succeeds, lifts it).
    web row $EDU state=available owner= owner_pid= driver=passthru
    web table "$(list_json)"
    web screenshot 5-lease-ended $EDU
    web maintenance on
    web unassign $EDU cockpit-demo
    ! passthructl show 01:00.0 | grep -q "Assigned to: cockpit-demo" || fail "still assigned: $(passthructl show 01:00.0)"
    web maintenance off

    passthructl --json list >/tmp/list.before
    web login viewer passthru-viewer limited
    web table "$(list_json)"
    web read-only
    web screenshot 6-read-only 0000:04:01.0
    passthructl --json list | cmp -s - /tmp/list.before || fail "something changed while the viewer was there"
    passthructl maintenance status | grep -q "Maintenance mode: off" || fail "maintenance mode changed"
}

# The kernel stage 1 added goes again; DKMS's build for it goes with it.
# A passthru.conf that does not parse: the unit fails, the journal names
# the line, and nothing runs with the defaults' wider access.
testcase_malformed_config_fails_the_unit_with_the_line() {
    mkdir -p /etc/passthru
    printf '[Daemon]\nGroup=wheel\nMaxDevicesPerVm=lots\n' >/etc/passthru/passthru.conf
    systemctl reset-failed passthrud 2>/dev/null || true
    if systemctl restart passthrud; then
        rm /etc/passthru/passthru.conf
        fail "passthrud started with a malformed passthru.conf"
    fi
    journalctl -b -u passthrud --no-pager -o cat | tail -n 5
    journalctl -b -u passthrud --no-pager -o cat | grep -q "passthru.conf:3: MaxDevicesPerVm: not a number: 'lots': refusing to start" ||
        fail "the journal does not name the line: $(journalctl -b -u passthrud --no-pager -o cat | tail -n 3)"
    ! systemctl is-active passthrud || fail "passthrud is active"
    rm /etc/passthru/passthru.conf
    systemctl reset-failed passthrud 2>/dev/null || true
    rmdir /etc/passthru
    systemctl start passthrud
    systemctl is-active passthrud || fail "passthrud did not come back"
}

# After a revoke killed QEMU: staged, or on passthru when QEMU's exit had
# not closed the group's node yet as the return's worker opened it (a
# return that cannot hold the node stages nothing): a race of the kill,
# both sides of it right.
assert_back_after_a_kill() {
    if [ "$(driver $EDU)" = vfio-pci ]; then assert_staged $EDU; else assert_driver $EDU passthru; fi
}

# Root revokes a real QEMU run by passthructl run (QEMU opens /dev/vfio/N
# itself and holds device fds): within the grace period + 5 s QEMU is gone,
# nothing but passthrud holds VFIO and the device is back, reset.
testcase_revoke_ends_qemu_under_passthructl_run() {
    local run t
    mkdir -p /etc/passthru
    printf '[Daemon]\nRevokeGraceSec=1\n' >/etc/passthru/passthru.conf
    systemctl restart passthrud
    as_alice passthructl run --device 01:00.0 --vm revoked --memory 256M -- \
        qemu-system-x86_64 -S -nodefaults -machine q35 -accel tcg -m 64 -display none \
        -device vfio-pci,host=$EDU -qmp unix:/tmp/qmp-revoke.sock,server=on,wait=off \
        </dev/null >/tmp/revoke.out 2>&1 &
    run=$!
    for i in $(seq 1 300); do
        ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q vfio-device && break
        sleep 0.1
    done
    ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q vfio-device || fail "QEMU did not open the device: $(cat /tmp/revoke.out)"
    passthructl show 01:00.0 | grep -q "revoked" || fail "not leased to 'revoked': $(passthructl show 01:00.0)"
    passthructl release 01:00.0
    for t in $(seq 1 60); do
        passthructl show 01:00.0 | grep -q "State: available" && break
        sleep 0.1
    done
    echo "back after $t polls of passthructl show"
    passthructl show 01:00.0 | grep -q "State: available" || fail "not back: $(passthructl show 01:00.0)"
    assert_back_after_a_kill
    [ -z "$(vfio_holders)" ] || fail "VFIO still held: $(vfio_holders)"
    ! kill -0 $run 2>/dev/null || fail "passthructl run survived"
    pgrep -x qemu-system-x86 && fail "QEMU survived"
    rm /etc/passthru/passthru.conf
    rmdir /etc/passthru
    systemctl restart passthrud
}

# libvirt (docs/libvirt.md): Debian's libvirt-daemon-system, installed
# before passthru, runs passthru's hook (/etc/libvirt/hooks/qemu.d/).
# define_domain NAME MANAGED: a small q35 domain without a disk, TCG (this
# VM has no KVM), whose one hostdev is the edu device with managed=MANAGED.
# The hostdev sits on the root bus (an integrated endpoint): a domain
# started --paused has run no firmware, so bridges have no bus numbers yet
# and QEMU's "info pci" lists only what is on bus 0.
define_domain() {
    cat >/tmp/$1.xml <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <hostdev mode='subsystem' type='pci' managed='$2'>
      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </hostdev>
  </devices>
</domain>
XML
    virsh define /tmp/$1.xml || fail "virsh define $1"
}

# leased_to VM: passthructl list shows the edu device leased to VM.
assert_leased_to() {
    passthructl list >/tmp/list
    grep -q "^$EDU .* leased .* $1" /tmp/list || fail "passthructl list does not show $EDU leased to $1: $(cat /tmp/list)"
}

# assert_start_refused DOMAIN TEXT: virsh start of DOMAIN fails, printing TEXT.
assert_start_refused() {
    local rc=0
    virsh start --paused $1 >/tmp/virsh-$1 2>&1 || rc=$?
    cat /tmp/virsh-$1
    [ $rc -ne 0 ] || fail "$1 started with the device"
    grep -q "$2" /tmp/virsh-$1 || fail "virsh start $1 does not say passthru's reason ($2)"
    virsh domstate $1 | grep -q "shut off" || fail "$1: $(virsh domstate $1)"
}

testcase_libvirt_runs_passthrus_hook() {
    [ -x /etc/libvirt/hooks/qemu.d/50-passthru ] || fail "the hook is not installed: $(ls -l /etc/libvirt/hooks/qemu.d)"
    find /etc/libvirt | sort >/root/libvirt-before
    systemctl start libvirtd
    virsh version
    define_domain passthru-a no
    define_domain passthru-b no
    define_domain passthru-m yes
}

# virsh start of a domain naming the device with managed='no': the hook
# leases it for the domain's name, and QEMU (which libvirt runs as
# libvirt-qemu) has it in its own PCI list.
testcase_libvirt_domain_gets_a_managed_no_device() {
    virsh start --paused passthru-a || fail "virsh start passthru-a failed"
    virsh qemu-monitor-command --hmp passthru-a 'info pci' | tee /tmp/info-pci
    grep -q "1234:11e8" /tmp/info-pci || fail "QEMU's PCI list has no 1234:11e8"
    assert_leased_to passthru-a
    assert_driver $EDU vfio-pci
    systemctl list-units --type=scope --full --no-pager | grep "passthru lease holder of libvirt domain passthru-a" ||
        fail "the holder is not in a scope of its own"
}

testcase_second_libvirt_domain_is_refused_naming_the_first() {
    assert_start_refused passthru-b "leased to VM 'passthru-a'"
    # Its failed start ended no lease but its own: the first keeps the device.
    assert_leased_to passthru-a
    [ -z "$(ls /run/passthru-libvirt/passthru-b.pid 2>/dev/null)" ] || fail "a holder of passthru-b is left"
}

testcase_destroy_returns_the_device_and_the_second_domain_starts() {
    virsh destroy passthru-a || fail "virsh destroy failed"
    # The hook's release waits until the device is back: at once, no polling.
    passthructl show 01:00.0 | tee /tmp/show | grep -q "State: available" || fail "not back after destroy: $(cat /tmp/show)"
    grep "Last reset:" /tmp/show | grep -qv "not recorded" || fail "no reset recorded: $(cat /tmp/show)"
    assert_staged $EDU
    virsh start --paused passthru-b || fail "virsh start passthru-b failed after passthru-a was destroyed"
    assert_leased_to passthru-b
    virsh destroy passthru-b
    wait_available $EDU
}

testcase_managed_yes_on_a_passthru_device_is_refused() {
    assert_start_refused passthru-m "Use managed='no'"
    # libvirt never took it from passthrud: still staged by the last return.
    assert_staged $EDU
    passthructl show 01:00.0 | grep -q "State: available" || fail "$(passthructl show 01:00.0)"
}

# Root's Release of a libvirt domain's lease: after RevokeGraceSec the
# holder and QEMU (which has /dev/vfio/N open) are killed, the domain is
# shut off and the device is back, reset, within the grace period + 5 s.
testcase_root_release_ends_the_libvirt_domains_use() {
    local start now state=
    mkdir -p /etc/passthru
    printf '[Daemon]\nRevokeGraceSec=2\n' >/etc/passthru/passthru.conf
    systemctl restart passthrud
    virsh start --paused passthru-a || fail "virsh start passthru-a failed"
    assert_leased_to passthru-a
    start=$(date +%s)
    passthructl release 01:00.0
    while now=$(date +%s); [ $((now - start)) -le 7 ]; do
        state=$(virsh domstate passthru-a)
        [ "$state" = "shut off" ] && passthructl show 01:00.0 | grep -q "State: available" && break
        sleep 0.2
    done
    passthructl show 01:00.0 >/tmp/show
    echo "after $((now - start)) s: domain $state; $(grep State /tmp/show)"
    # The short grace goes first, whatever the result (the purge below looks for leftovers).
    rm /etc/passthru/passthru.conf
    rmdir /etc/passthru
    # libvirt runs QEMU as libvirt-qemu, on a /dev of its own: passthrud
    # finds it by the group's device number, through /proc/PID/fd that only
    # CAP_SYS_PTRACE lets it read (the unit's bounding set has it).
    [ "$state" = "shut off" ] ||
        fail "root's Release did not end the libvirt domain's use: $((now - start)) s after it, domain $state, $(grep State /tmp/show)"
    grep -q "State: available" /tmp/show || fail "not back: $(cat /tmp/show)"
    assert_back_after_a_kill
    journalctl -b -u passthrud --no-pager -o cat | grep -E "Killed pid [0-9]+ \(qemu" ||
        fail "passthrud did not kill the domain's QEMU: $(journalctl -b -u passthrud --no-pager -o cat | tail -n 5)"
    systemctl restart passthrud
}

# The domains go, and so does what libvirt itself wrote in /etc (not
# passthru's to remove: the purge below leaves it out).
testcase_libvirt_domains_are_undefined() {
    for d in passthru-a passthru-b passthru-m; do
        virsh destroy $d >/dev/null 2>&1 || :
        virsh undefine $d || fail "virsh undefine $d"
    done
    systemctl stop libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd || :
    find /etc/libvirt | sort >/root/libvirt-after
    diff /root/libvirt-before /root/libvirt-after | sed -n 's/^> //p' >/root/libvirt-made || true
    ! grep hooks /root/libvirt-made || fail "libvirt changed its hooks: $(cat /root/libvirt-made)"
}

# start_qemu VM: a paused QEMU with the edu device, run by alice through
# passthructl run; its pid (passthructl's) in $RUN once QEMU holds the device.
start_qemu() {
    as_alice passthructl run --device 01:00.0 --vm "$1" --memory 256M -- \
        qemu-system-x86_64 -S -nodefaults -machine q35 -accel tcg -m 64 -display none \
        -device vfio-pci,host=$EDU -qmp unix:/tmp/qmp-$1.sock,server=on,wait=off \
        </dev/null >/tmp/qemu-$1.out 2>&1 &
    RUN=$!
    for i in $(seq 1 300); do
        ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q vfio-device && return 0
        sleep 0.1
    done
    fail "QEMU did not open the device: $(cat /tmp/qemu-$1.out)"
}

# The device stays with VM $1 (QEMU under $RUN alive) and a second VM is
# refused with the holder's name; then QEMU quits and the device comes back.
assert_kept_then_returned() {
    local out rc=0
    kill -0 $RUN || fail "passthructl run (QEMU) died"
    passthructl show 01:00.0 | tee /tmp/show | grep -q "$1" || fail "the lease was lost: $(cat /tmp/show)"
    assert_driver $EDU vfio-pci
    out=$(as_alice passthructl run --device 01:00.0 --vm thief -- true 2>&1) || rc=$?
    echo "second VM: $out (exit $rc)"
    [ $rc -ne 0 ] || fail "a second VM got the device"
    echo "$out" | grep -q "$1" || fail "the refusal does not name the holder: $out"
    pkill -x qemu-system-x86 || pkill -f qemu-system-x86_64
    wait $RUN || :
    wait_available $EDU
    assert_staged $EDU
}

# dbus-daemon restarted under a passthrud with a lease: passthrud exits
# (its bus is gone), systemd restarts it, it adopts the lease from the
# ledger; the VM keeps its device meanwhile.
testcase_dbus_restart_keeps_the_leases() {
    local pid_before pid_after
    systemctl start passthrud
    start_qemu busrestart
    pid_before=$(systemctl show -p MainPID --value passthrud)
    systemctl restart dbus
    for i in $(seq 1 150); do
        pid_after=$(systemctl show -p MainPID --value passthrud)
        [ "$pid_after" != "$pid_before" ] && [ "$pid_after" != 0 ] &&
            busctl call $BUS ListDevices >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "passthrud pid $pid_before -> $pid_after after $i polls"
    [ "$pid_after" != "$pid_before" ] && [ "$pid_after" != 0 ] || fail "passthrud did not come back: $(systemctl status passthrud --no-pager)"
    busctl call $BUS ListDevices >/dev/null || fail "passthrud is not on the new bus"
    journalctl -b -u passthrud --no-pager -o cat | grep -q "The system bus connection was lost" ||
        fail "the journal does not say why passthrud exited"
    assert_kept_then_returned busrestart
}

# An upgrade while a VM holds a device: passthrud restarts into the new
# binary, adopts the lease from its ledger, the VM keeps the device and
# nobody else gets it meanwhile (debian/passthrud.postinst).
testcase_upgrade_keeps_a_running_vms_lease() {
    local pid_before pid_after
    systemctl start passthrud
    start_qemu upgraded
    pid_before=$(systemctl show -p MainPID --value passthrud)
    DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall /root/debs/passthrud_*_amd64.deb \
        >/tmp/upgrade-apt.log 2>&1 || { tail -n 20 /tmp/upgrade-apt.log; fail "apt reinstall failed"; }
    pid_after=$(systemctl show -p MainPID --value passthrud)
    echo "passthrud pid $pid_before -> $pid_after"
    systemctl is-active passthrud || fail "passthrud is not running after the upgrade"
    [ "$pid_after" != "$pid_before" ] || fail "passthrud was not restarted by the upgrade"
    assert_kept_then_returned upgraded
}

# passthrud's stop puts its staged groups back on passthru; those binds do
# not start it again through udev's rule (/run/passthru/stopped), nor does
# a bind to passthru while it is stopped (by hand here, after the stop:
# what the stop's own binds do, whatever the timing), until it runs again.
testcase_stop_stays_stopped_though_it_binds_its_staged_groups() {
    as_alice passthructl run --device 01:00.0 --vm stopper -- true || fail "the lease before the stop failed"
    wait_available $EDU
    assert_staged $EDU
    systemctl stop passthrud
    assert_driver $EDU passthru
    [ -e /run/passthru/stopped ] || fail "no /run/passthru/stopped after passthrud's stop"
    move_by_hand $EDU passthru vfio-pci
    move_by_hand $EDU vfio-pci passthru
    udevadm settle
    sleep 2
    ! systemctl is-active passthrud || fail "udev's rule started passthrud again after its stop"
    systemctl start passthrud
    [ ! -e /run/passthru/stopped ] || fail "/run/passthru/stopped outlived passthrud's start"
    wait_available $EDU
    assert_driver $EDU passthru
}

# apt remove: passthrud stops, the devices stay where they are (hidden
# stays hidden until the next boot), DKMS's builds go.
testcase_apt_remove_stops_passthrud_and_leaves_devices() {
    DEBIAN_FRONTEND=noninteractive apt-get remove -y passthrud passthru-dkms >/tmp/remove.log 2>&1 ||
        { tail -n 20 /tmp/remove.log; fail "apt remove failed"; }
    ! systemctl is-active passthrud || fail "passthrud still runs after apt remove"
    # Its stop put the staged group back on passthru.
    assert_driver $EDU passthru
    grep -q '^passthru ' /proc/modules || fail "passthru.ko was unloaded"
    [ -z "$(dkms status passthru)" ] || fail "dkms still has passthru: $(dkms status passthru)"
    ! ls /lib/modules/*/updates/dkms/passthru.ko 2>/dev/null || fail "a DKMS build of passthru is left"
}

# After apt remove the hook file stays (configuration), passthructl does
# not: libvirt still starts a domain (one without a hostdev here), as if
# passthru had never been installed.
testcase_libvirt_starts_domains_after_apt_remove() {
    [ -e /etc/libvirt/hooks/qemu.d/50-passthru ] || echo "(the hook went with the package)"
    systemctl start libvirtd || fail "libvirtd does not start"
    cat >/tmp/passthru-plain.xml <<XML
<domain type='qemu'>
  <name>passthru-plain</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
    virsh define /tmp/passthru-plain.xml || fail "virsh define"
    virsh start --paused passthru-plain >/tmp/virsh-plain 2>&1 || { cat /tmp/virsh-plain; rc=1; }
    virsh destroy passthru-plain >/dev/null 2>&1 || :
    virsh undefine passthru-plain || :
    systemctl stop libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd || :
    [ "${rc:-0}" -eq 0 ] || fail "after apt remove, libvirt cannot start a domain: $(cat /tmp/virsh-plain)"
}

# apt purge: no file of either package, nothing passthrud wrote to keep,
# no DKMS tree; compared with the snapshot stage 1 took before the install.
# /run/passthru stays as it was, until the boot ends: a reinstall must not
# hand out a quarantined device (passthrud is gone since apt remove, so a
# list written here stands for one it left).
testcase_apt_purge_leaves_nothing_behind() {
    [ -s /run/passthru/quarantine ] || { install -d -m 0700 /run/passthru && echo 0000:02:00.0 >/run/passthru/quarantine; }
    rm -rf /tmp/run-passthru.before
    cp -a /run/passthru /tmp/run-passthru.before
    DEBIAN_FRONTEND=noninteractive apt-get purge -y passthrud passthru-dkms >/tmp/purge.log 2>&1 ||
        { tail -n 20 /tmp/purge.log; fail "apt purge failed"; }
    ! dpkg -l passthrud passthru-dkms 2>/dev/null | grep -q '^[ir]' || fail "dpkg still knows: $(dpkg -l passthrud passthru-dkms)"
    for d in /var/lib/passthru /run/passthru-libvirt /run/passthru.sock /var/lib/dkms/passthru /usr/src/passthru-*; do
        [ ! -e "$d" ] || fail "$d is left"
    done
    diff -r /tmp/run-passthru.before /run/passthru >/tmp/run-diff 2>&1 ||
        fail "apt purge changed /run/passthru (the quarantine list, the ledger): $(head -n 5 /tmp/run-diff | tr '\n' ' ')"
    find /usr /etc /lib/modules -xdev | sort >/root/files-after
    diff /root/files-before /root/files-after | grep '^[<>]' |
        grep -vE '^> /etc/(group|gshadow|passwd|shadow|subuid|subgid)-?$|^> /etc/ld.so.cache$' |
        grep -vxF -f <(cat /root/libvirt-made /root/cockpit-made 2>/dev/null | sed 's/^/> /'; echo '> /nothing') >/tmp/left || true
    cat /tmp/left
    [ ! -s /tmp/left ] || fail "left behind: $(head -n 5 /tmp/left | tr '\n' ' ')"
}
