#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# passthructl's command line: first with no bus to talk to, what it settles
# before it connects (each verb takes its own options and refuses the others,
# exit 2, naming the option; --version); then on a private bus that fails to
# start passthrud (exit 6); then against a stand-in passthrud
# (tests/tools/pt-standin.c) on a private bus, what reaches the daemon and a
# command that run starts; check's findings of the next boot (passthru.ko
# installed, the initramfs's marks) on files of its own.
# Prints "PASS|FAIL unit.cli.NAME [why]".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ctl=${PASSTHRUCTL:-$top/build/passthructl}
rc=0
dir=$(mktemp -d)
bus_pid='' standin_pid=''
cleanup() {
    [[ -z $standin_pid ]] || kill "$standin_pid" 2>/dev/null
    [[ -z $bus_pid ]] || kill "$bus_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
# No direct socket, and a system bus that is not there.
export PASSTHRU_SOCKET='' DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/no-bus

# expect NAME STATUS PATTERN ARGS...: exit status and a line of its output.
expect() {
    local name=$1 status=$2 pattern=$3 out got
    shift 3
    out=$("$ctl" "$@" 2>&1)
    got=$?
    if [[ $got -eq $status ]] && grep -qE -- "$pattern" <<<"$out"; then
        echo "PASS unit.cli.$name"
    else
        echo "FAIL unit.cli.$name passthructl $*: exit $got, '$out'"
        rc=1
    fi
}

expect live_is_not_for_list 2 "--live does not apply to 'list'" list --live
expect json_is_not_for_hide 2 "--json does not apply to 'hide'" --json hide 01:00.0
expect device_is_only_for_run 2 "--device does not apply to 'show'" show 01:00.0 --device 01:00.0
expect vm_is_only_for_run 2 "--vm does not apply to 'release'" release 01:00.0 --vm a
expect memory_is_only_for_run 2 "--memory does not apply to 'list'" list -m 1G
expect no_legend_is_only_for_list 2 "--no-legend does not apply to 'check'" check --no-legend
expect force_is_not_for_show 2 "--force does not apply to 'show'" show --force 01:00.0
expect unknown_verb_is_named 2 "unknown command 'frobnicate'" frobnicate
expect run_command_is_checked_before_connecting 127 "cannot run /nonexistent/vmm: No such file or directory; nothing was leased" \
    run --vm a --device 01:00.0 -- /nonexistent/vmm
expect unknown_option_is_named_by_passthructl 2 "^passthructl: unknown option '--bogus' \\(or the start of more than one\\)" list --bogus
expect ambiguous_option_is_named 2 "^passthructl: unknown option '--v' \\(or the start of more than one\\)" --v list
expect short_flag_given_a_value_is_named 2 "^passthructl: option '--help' takes no value" --help=x
expect negative_vf_count_is_no_option 2 "^passthructl: unknown option '-1' \\(a number is no option" sriov 01:00.0 -1
expect option_without_its_value_is_named 2 "^passthructl: option '--vm' needs a value" run --vm
expect flag_given_a_value_is_named 2 "^passthructl: option '--json' takes no value" list --json=3
expect missing_argument_shows_usage 2 "usage: passthructl show DEVICE" show
expect bad_memory_size_is_named 2 "bad --memory 'lots'" run --memory lots --vm a --device 1:0.0 -- true
expect memory_above_2_to_the_64_bytes_is_refused 2 "--memory '17179869184G' is more than 2\\^64-1 bytes" \
    run --memory 17179869184G --vm a --device 1:0.0 -- true
expect memory_of_21_digits_is_refused 2 "--memory '18446744073709551616' is more than 2\\^64-1 bytes" \
    run -m 18446744073709551616 --vm a --device 1:0.0 -- true
expect negative_memory_is_refused 2 "bad --memory '-1'" run -m -1 --vm a --device 1:0.0 -- true
expect version_is_printed 0 "^passthructl $(cat "$top/VERSION")$" --version
# check without passthrud: the host's own checks, then the devices named as not checked; 3 when the
# host fails one (here, most likely: no IOMMU), else 6.
out=$("$ctl" check 2>&1)
got=$?
if [[ $got -eq 3 || $got -eq 6 ]] && grep -q "^.... VFIO modules " <<<"$out" &&
    grep -q "^?    Devices not checked: passthrud does not answer" <<<"$out" &&
    grep -q "cannot connect to the system bus" <<<"$out"; then
    echo "PASS unit.cli.check_without_passthrud_checks_the_host"
else
    echo "FAIL unit.cli.check_without_passthrud_checks_the_host passthructl check: exit $got, '$out'"
    rc=1
fi
out=$("$ctl" --json check 2>/dev/null)
if grep -q '"devices":null' <<<"${out//[[:space:]]/}" && grep -q '"vfio":' <<<"$out"; then
    echo "PASS unit.cli.check_json_without_passthrud_has_no_devices"
else
    echo "FAIL unit.cli.check_json_without_passthrud_has_no_devices '$out'"
    rc=1
fi
# passthrud's own: --help and --version, and any other argument refused before it does anything.
ctl=$top/build/passthrud expect daemon_version_is_printed 0 "^passthrud $(cat "$top/VERSION")$" --version
ctl=$top/build/passthrud expect daemon_help_names_its_settings 0 "/etc/passthru/passthru.conf" --help
ctl=$top/build/passthrud expect daemon_refuses_an_argument 2 \
    "passthrud: unexpected argument '--config': it takes none but --help or --version" --config /tmp/x.conf
expect help_names_every_verb 0 "run --device D" --help
# A mistyped argument is bad usage (2) whether passthrud is there or not: checked before connecting.
expect device_address_is_checked_before_connecting 2 "'zz:00.0' is not a PCI address" show zz:00.0
# Hex digits, ':' and '.' only: no sign (sscanf's %x takes one) and no blanks, before or after.
expect signed_address_field_is_refused 2 "'0000:-1:00.0' is not a PCI address" show 0000:-1:00.0
expect plus_signed_address_field_is_refused 2 "'1:\\+1.0' is not a PCI address" release 1:+1.0
expect address_with_a_leading_blank_is_refused 2 "' 01:00.0' is not a PCI address" show " 01:00.0"
expect address_with_a_blank_inside_is_refused 2 "'01: 00.0' is not a PCI address" reset "01: 00.0"
expect address_with_a_trailing_blank_is_refused 2 "'01:00.0 ' is not a PCI address" show "01:00.0 "
expect upper_case_address_reaches_for_the_bus 6 "cannot connect to the system bus" show 0000:AB:1F.7
expect maintenance_action_is_checked_before_connecting 2 "maintenance takes enter, exit or status, not 'foo'" \
    maintenance foo
expect run_device_is_checked_before_connecting 2 "run needs --vm NAME and at least one --device" run --vm x -- true
expect run_device_address_is_checked_before_connecting 2 "'foo' is not a PCI address" run --vm x -d 1:0.0 -d foo true
expect vf_count_is_checked_before_connecting 2 "'abc' is not a number of VFs" sriov 06:00.0 abc
expect vf_count_above_32_bits_is_refused 2 "'4294967296' is not a number of VFs" sriov 06:00.0 4294967296
expect a_good_address_reaches_for_the_bus 6 "cannot connect to the system bus" hide 1:0.0
expect options_before_the_verb_are_read 6 "cannot connect to the system bus" --json list
expect options_after_the_verb_are_read 6 "cannot connect to the system bus" list --json
expect force_marks_for_the_next_boot 6 "cannot connect to the system bus" hide --force 1:0.0
expect force_unmarks_a_quarantined_device 6 "cannot connect to the system bus" unhide --force 1:0.0
# run's own options end at its command's first word: the rest is the command's, its -m and --json too.
expect run_command_keeps_its_options 6 "cannot connect to the system bus" run -d 01:00.0 --vm x qemu-system-x86_64 -m lots --json

# A bus that starts passthrud when a call is made for it (D-Bus activation),
# and a passthrud that fails at once or never takes its name: not reachable.
mkdir "$dir/services"
cat >"$dir/activating.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$dir/activating-bus</listen>
  <servicedir>$dir/services</servicedir>
  <limit name="service_start_timeout">1000</limit>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
cat >"$dir/services/org.passthru1.service" <<SERVICE
[D-BUS Service]
Name=org.passthru1
Exec=$dir/passthrud
SERVICE
cat >"$dir/passthrud" <<'STANDIN'
#!/bin/sh
# What passthrud does when the bus starts it: exit 1, or hang (for less than the test takes).
[ "$(cat "${0%/*}/passthrud.mode")" = fail ] && exit 1
exec sleep 2
STANDIN
chmod +x "$dir/passthrud"
dbus-daemon --config-file="$dir/activating.conf" --fork --print-pid >"$dir/activating.pid" || exit 1
activating_pid=$(cat "$dir/activating.pid")
echo fail >"$dir/passthrud.mode"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/activating-bus \
    expect a_passthrud_the_bus_cannot_start_is_not_reachable 6 "is passthrud running\\?" list
echo hang >"$dir/passthrud.mode"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/activating-bus \
    expect a_passthrud_that_never_takes_its_name_is_not_reachable 6 "is passthrud running\\?" show 1:0.0
# passthructl stops waiting (SYSTEMD_BUS_TIMEOUT) before the bus does: its name has no owner yet.
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/activating-bus SYSTEMD_BUS_TIMEOUT=0.3 \
    expect no_answer_while_the_bus_starts_passthrud_is_not_reachable 6 "is passthrud running\\?" list
kill "$activating_pid"

# A stand-in passthrud: 0000:01:00.0 can be leased, in IOMMU group 7.
dbus-daemon --session --address="unix:path=$dir/bus" --fork --print-pid >"$dir/bus.pid" || exit 1
bus_pid=$(cat "$dir/bus.pid")
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/bus
"$top/build/pt-standin" "$DBUS_SYSTEM_BUS_ADDRESS" >"$dir/standin.log" 2>&1 &
standin_pid=$!
for _ in $(seq 1 50); do
    grep -q ready "$dir/standin.log" && break
    sleep 0.1
done
if ! grep -q ready "$dir/standin.log"; then
    echo "FAIL unit.cli.standin pt-standin did not start: $(cat "$dir/standin.log")"
    exit 1
fi
# monitor on the bus hears passthrud only: a signal another client sends it
# (unicast, past the bus's match), a device path with a terminal's escape
# in it or a lease that is not, is not printed; passthrud's own is.
"$ctl" monitor >"$dir/ctl-monitor" 2>&1 &
ctl_monitor_pid=$!
for _ in $(seq 1 50); do
    grep -q Monitoring "$dir/ctl-monitor" && break
    sleep 0.1
done
ctl_monitor_name=$(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" list --no-legend --unique 2>/dev/null |
    awk -v pid="$ctl_monitor_pid" '$2 == pid { print $1; exit }')
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" emit --destination="$ctl_monitor_name" \
    /org/passthru1 org.freedesktop.DBus.ObjectManager InterfacesAdded 'oa{sa{sv}}' \
    /org/passthru1/device/_1b_5d0_3bowned_07_1b_5b2J 0
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" emit --destination="$ctl_monitor_name" \
    /org/passthru1 org.passthru1.Manager LeaseRevoked ssu 0000:01:00.0 prod-db 4242
"$ctl" run -d 1:0.0 --vm genuine true >/dev/null 2>&1
for _ in $(seq 1 50); do
    grep -q "LeaseAcquired device 0000:01:00.0, VM genuine" "$dir/ctl-monitor" && break
    sleep 0.1
done
kill "$ctl_monitor_pid" 2>/dev/null
wait "$ctl_monitor_pid" 2>/dev/null
if [[ -z $ctl_monitor_name ]]; then
    echo "FAIL unit.cli.monitor_hears_passthrud_only: the monitor's connection was not found on the bus"
    rc=1
elif ! grep -q "LeaseAcquired device 0000:01:00.0, VM genuine" "$dir/ctl-monitor" ||
    grep -q "prod-db\|DeviceAdded\|$(printf '\033')" "$dir/ctl-monitor"; then
    echo "FAIL unit.cli.monitor_hears_passthrud_only: $(cat -v "$dir/ctl-monitor" | tr '\n' '|')"
    rc=1
else
    echo "PASS unit.cli.monitor_hears_passthrud_only"
fi

# A refusal the bus's Force option overrides names passthructl's --force.
expect hide_of_a_critical_device_names_force 4 "Hint: --force does it anyway" hide 1:0.0
expect hide_of_a_critical_device_with_force 0 "is kept by passthru" hide --force 1:0.0
if grep -q "passthrough 0000:01:00.0 1 force 1" "$dir/standin.log"; then
    echo "PASS unit.cli.hide_force_reaches_the_daemon"
else
    echo "FAIL unit.cli.hide_force_reaches_the_daemon: $(cat "$dir/standin.log")"
    rc=1
fi
expect run_without_dashdash_passes_the_commands_options 0 "^-m 2048M -smp 2$" run -d 0000:01:00.0 --vm x echo -m 2048M -smp 2
expect run_with_dashdash 0 "^-m 1G$" run -d 0000:01:00.0 -m 1G --vm x -- echo -m 1G
expect run_options_before_the_verb 0 "^--vm y$" --vm x run -d 0000:01:00.0 echo --vm y
expect memory_in_terabytes 0 "^ok$" run -m 2T --vm x -d 0000:01:00.0 echo ok
expect run_leases_a_short_address_by_passthruds_name_for_it 0 "^Leased 0000:01:00.0 \(IOMMU group 7\)" \
    run -d 1:0.0 --vm x true
# A command that cannot be run is found out before anything is leased (127, as a shell says).
expect run_of_a_missing_command_leases_nothing 127 "cannot run no-such-vmm: No such file or directory; nothing was leased" \
    run -d 1:0.0 --vm missing-vmm no-such-vmm -m 1G
expect run_of_a_missing_path_leases_nothing 127 "cannot run /nonexistent/qemu-system-x86_64: No such file or directory; nothing" \
    run -d 1:0.0 --vm missing-vmm -- /nonexistent/qemu-system-x86_64
expect run_of_a_directory_leases_nothing 127 "cannot run /tmp: Is a directory; nothing was leased" \
    run -d 1:0.0 --vm missing-vmm -- /tmp
if grep -q "acquired missing-vmm" "$dir/standin.log"; then
    echo "FAIL unit.cli.run_that_cannot_start_its_command_made_no_lease: $(grep acquired "$dir/standin.log")"
    rc=1
else
    echo "PASS unit.cli.run_that_cannot_start_its_command_made_no_lease"
fi
# What the command leaves running (a VMM that daemonized) keeps run, the
# leases' holder, until it exits; run forwards SIGTERM to it meanwhile.
start=$SECONDS
expect run_exits_with_its_commands_status 3 "^Leased 0000:01:00.0" run -d 1:0.0 --vm orphan -- \
    sh -c 'sleep 2 >/dev/null 2>&1 & exit 3'
elapsed=$((SECONDS - start))
if [[ $elapsed -ge 2 ]]; then
    echo "PASS unit.cli.run_holds_the_leases_until_the_last_descendant_exits"
else
    echo "FAIL unit.cli.run_holds_the_leases_until_the_last_descendant_exits: run exited after $elapsed s"
    rc=1
fi
"$ctl" run -d 1:0.0 --vm orphan -- sh -c 'sleep 59.25 >/dev/null 2>&1 & exit 0' >/dev/null 2>&1 &
runner=$!
sleep 1
alive=no
kill -0 "$runner" 2>/dev/null && alive=yes
kill -TERM "$runner" 2>/dev/null
wait "$runner"
got=$?
sleep 0.2
if [[ $alive == yes && $got -eq 0 ]] && ! pgrep -f "sleep 59.25" >/dev/null; then
    echo "PASS unit.cli.run_forwards_sigterm_to_what_its_command_left_running"
else
    echo "FAIL unit.cli.run_forwards_sigterm_to_what_its_command_left_running: run alive after 1 s: $alive, exit $got, left: $(pgrep -af "sleep 59.25")"
    pkill -f "sleep 59.25"
    rc=1
fi
# A refusal quotes what another caller chose (a VM name): it reaches this
# terminal with its control characters as '?', like any string passthrud sends.
"$top/build/pt-hold" -H 0000:01:00.0 $'vm\e]2;retitled\a' >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 50); do
    grep -q "acquired vm" "$dir/standin.log" && break
    sleep 0.1
done
out=$("$ctl" run -d 1:0.0 --vm second -- true 2>&1)
if grep -q "leased to VM 'vm?]2;retitled?'" <<<"$out" && ! grep -q $'\e' <<<"$out"; then
    echo "PASS unit.cli.a_refusal_quoting_another_callers_name_is_printable"
else
    echo "FAIL unit.cli.a_refusal_quoting_another_callers_name_is_printable: $(od -c <<<"$out" | head -n 5)"
    rc=1
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect list_with_json_after_the_verb 0 '"address": *"0000:01:00.0"' list --json
# A VF is listed under its PF even when the PF's count lags behind (0 while its VFs appear).
expect list_shows_a_vf_under_a_pf_that_counts_none 0 "^  0000:02:00.0 " list --no-legend
# check's next boot: passthru.ko in the running kernel's modules.dep, and
# the marks the initramfs was built with (the sha256 that
# passthru-refresh-initramfs records) against passthru.conf's now; the
# files moved as for that script, the modules into a scratch tree.
kver=$(uname -r)
mkdir -p "$dir/modules/$kver" "$dir/without/$kver"
printf '%s\n' "kernel/drivers/vfio/vfio_iommu_type1.ko: kernel/drivers/vfio/vfio.ko" \
    "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko" "updates/dkms/passthru.ko.xz:" \
    >"$dir/modules/$kver/modules.dep"
grep -v passthru "$dir/modules/$kver/modules.dep" >"$dir/without/$kver/modules.dep"
printf '# Written by passthrud: devices marked for passthrough.\noptions passthru hide=(0000:01:00.0)\n' >"$dir/passthru.conf"
sha256sum <"$dir/passthru.conf" | cut -d' ' -f1 >"$dir/marks-now"
echo 0000000000000000000000000000000000000000000000000000000000000000 >"$dir/marks-old"
export PASSTHRU_MODULES_DIR=$dir/modules PASSTHRU_MODPROBE_CONF=$dir/passthru.conf PASSTHRU_INITRAMFS_MARKS=$dir/marks-now
expect check_finds_passthru_ko_installed_for_the_running_kernel 3 "^ok   passthru.ko installed for Linux $kver$" check
expect check_finds_vfio_iommu_type1_by_its_file_name 3 "^ok   VFIO modules vfio-pci and vfio_iommu_type1 present" check
PASSTHRU_MODULES_DIR=$dir/without expect check_fails_a_running_kernel_without_passthru_ko 3 \
    "^FAIL passthru.ko not installed for Linux $kver \(in no $dir/without/$kver/modules.dep\): the next boot of$" check
PASSTHRU_MODULES_DIR=$dir/without expect check_says_how_to_build_passthru_ko_for_the_running_kernel 3 \
    "^       then rebuild its initramfs: update-initramfs -u -k $kver \(dracut: dracut --force --kver $kver\)$" check
expect check_finds_the_initramfs_built_with_the_marks_of_now 3 "^ok   Initramfs built with the marks of $dir/passthru.conf$" check
PASSTHRU_INITRAMFS_MARKS=$dir/marks-old expect check_fails_an_initramfs_built_with_other_marks 3 \
    "^FAIL Initramfs out of date: $dir/passthru.conf changed after its last refresh \($dir/marks-old: other marks\),$" check
PASSTHRU_INITRAMFS_MARKS=$dir/marks-old expect check_says_how_to_rebuild_the_initramfs 3 \
    "^       systemctl start passthru-initramfs.service \(its journal says why the last refresh$" check
PASSTHRU_INITRAMFS_MARKS=$dir/no-marks expect check_fails_marks_with_no_refresh_recorded 3 \
    "^FAIL Initramfs out of date: .*\($dir/no-marks: no marks recorded\),$" check
PASSTHRU_MODPROBE_CONF=$dir/no-conf PASSTHRU_INITRAMFS_MARKS=$dir/no-marks expect check_needs_no_refresh_without_marks 3 \
    "^ok   Initramfs built with the marks of $dir/no-conf \(no such file: no marks\)$" check
# A record it cannot read (a directory here: EISDIR, as EACCES would be for a user) is no failure.
PASSTHRU_INITRAMFS_MARKS=$dir expect check_cannot_tell_the_marks_from_a_record_it_cannot_read 3 \
    "^\?    Initramfs marks unknown: cannot read $dir: Is a directory$" check
# A newer kernel installed since the boot (the next boot's): its own passthru.ko.
# (99.99.101-no-image: its modules.dep left, no image: not installed.)
mkdir -p "$dir/two/$kver" "$dir/two/99.99.99-next" "$dir/two/99.99.98-older" "$dir/two/99.99.100-removed/updates" \
    "$dir/two/99.99.101-no-image" "$dir/boot"
cp "$dir/modules/$kver/modules.dep" "$dir/two/$kver/"
cp "$dir/without/$kver/modules.dep" "$dir/two/99.99.99-next/"
cp "$dir/modules/$kver/modules.dep" "$dir/two/99.99.98-older/"
cp "$dir/without/$kver/modules.dep" "$dir/two/99.99.101-no-image/"
touch "$dir/boot/vmlinuz-$kver" "$dir/boot/vmlinuz-99.99.99-next" "$dir/boot/vmlinuz-99.99.98-older" \
    "$dir/boot/vmlinuz-99.99.100-removed"
export PASSTHRU_BOOT_DIR=$dir/boot
PASSTHRU_MODULES_DIR=$dir/two expect check_fails_the_newest_kernel_without_passthru_ko 3 \
    "^FAIL passthru.ko not installed for Linux 99.99.99-next, the newest kernel installed \(the next boot's,$" check
PASSTHRU_MODULES_DIR=$dir/two expect check_json_says_the_newest_kernel_has_no_passthru_ko 3 \
    '"passthru_module_installed_newest_kernel": *false,$' --json check
cp "$dir/modules/$kver/modules.dep" "$dir/two/99.99.99-next/"
PASSTHRU_MODULES_DIR=$dir/two expect check_finds_passthru_ko_for_the_newest_kernel 3 \
    "^ok   passthru.ko installed for Linux 99.99.99-next, the newest kernel installed$" check
PASSTHRU_MODULES_DIR=$dir/without expect check_json_says_passthru_ko_is_not_installed 3 \
    '"passthru_module_installed": *false,$' --json check
PASSTHRU_INITRAMFS_MARKS=$dir/marks-old expect check_json_says_the_initramfs_is_out_of_date 3 \
    '"initramfs_marks_current": *false,$' --json check
unset PASSTHRU_MODULES_DIR PASSTHRU_MODPROBE_CONF PASSTHRU_INITRAMFS_MARKS PASSTHRU_BOOT_DIR

# A passthrud that has its name and does not answer is there: the call failed.
kill -STOP "$standin_pid"
SYSTEMD_BUS_TIMEOUT=0.3 expect no_answer_from_a_running_passthrud_is_a_failure 1 "cannot list devices" list
kill -CONT "$standin_pid"

# What reaches the bus: each call names the device as passthrud does, in
# whatever form it was given (the stand-in answers these with UnknownMethod).
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" monitor org.passthru1 >"$dir/monitor" 2>&1 &
monitor_pid=$!
for _ in $(seq 1 50); do
    grep -q Monitoring "$dir/monitor" && break
    sleep 0.1
done
for verb in "hide 1:0.0" "unhide 1:0.0" "sriov 1:0.0 2" "assign 01:00.0 vm" "unassign 0000:1:0.0 vm" "release 1:0.0" \
    "reset 1:00.0"; do
    # shellcheck disable=SC2086 # a verb and its arguments
    "$ctl" $verb >/dev/null 2>&1
done
for _ in $(seq 1 50); do
    grep -q 'Member=Reset$' "$dir/monitor" && break
    sleep 0.1
done
# Each call's member and its first string argument.
first='/Member=/ { sub(/.*Member=/, ""); m = $1; next } m && /STRING "/ { gsub(/^[^"]*"|".*$/, ""); print m, $0; m = "" }'
sent=$(awk "$first" "$dir/monitor" | tr '\n' ',')
want="SetPassthrough 0000:01:00.0,SetPassthrough 0000:01:00.0,SetNumVFs 0000:01:00.0,Assign 0000:01:00.0,"
want+="Unassign 0000:01:00.0,Release 0000:01:00.0,Reset 0000:01:00.0,"
if [[ $sent == "$want" ]]; then
    echo "PASS unit.cli.every_call_sends_passthruds_name_for_the_device"
else
    echo "FAIL unit.cli.every_call_sends_passthruds_name_for_the_device: sent '$sent', not '$want'"
    rc=1
fi
kill "$monitor_pid" 2>/dev/null

# check names who holds a foreign device's /dev/vfio/N: that process's
# command line (its libvirt domain) and cgroup are its own to choose, and
# reach root's terminal only escaped.  A stand-in whose 0000:01:00.0 is
# foreign, and a /dev/vfio/7 in a mount namespace of the test's own.
if ! unshare --mount --propagation private true 2>/dev/null; then
    echo "SKIP unit.cli.check_escapes_what_a_foreign_devices_holder_says (no mount namespace here)"
    exit $rc
fi
kill "$standin_pid"
wait "$standin_pid" 2>/dev/null
PT_STANDIN_FOREIGN=1 "$top/build/pt-standin" "$DBUS_SYSTEM_BUS_ADDRESS" >"$dir/standin.log" 2>&1 &
standin_pid=$!
for _ in $(seq 1 300); do
    grep -q ready "$dir/standin.log" && break
    sleep 0.1
done
mkdir "$dir/dev"
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private bash -c '
    mount --bind /dev "$1/dev" && mount -t tmpfs tmpfs /dev && touch /dev/null && mount --bind "$1/dev/null" /dev/null &&
        mkdir /dev/vfio && touch /dev/vfio/7 || exit 1
    python3 -c "import time; time.sleep(60)" -name "guest=$(printf "\033]2;owned\007")vm" 9</dev/vfio/7 &
    for _ in $(seq 1 300); do
        grep -q guest= "/proc/$!/cmdline" 2>/dev/null && break
        sleep 0.1
    done
    "$2" check >"$1/check.out" 2>&1
    "$2" --json check >"$1/check.json" 2>&1
    kill $!' sh "$dir" "$ctl"
if grep -q $'\e' "$dir/check.out" "$dir/check.json"; then
    echo "FAIL unit.cli.check_escapes_what_a_foreign_devices_holder_says: an escape reached the output: $(cat -v "$dir/check.out")"
    rc=1
elif ! grep -qF "libvirt domain '\x1b]2;owned\x07vm'" "$dir/check.out"; then
    echo "FAIL unit.cli.check_escapes_what_a_foreign_devices_holder_says: $(cat -v "$dir/check.out")"
    rc=1
elif ! python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$dir/check.json"; then
    echo "FAIL unit.cli.check_escapes_what_a_foreign_devices_holder_says: --json is no JSON: $(cat -v "$dir/check.json")"
    rc=1
else
    echo "PASS unit.cli.check_escapes_what_a_foreign_devices_holder_says"
fi
exit $rc
