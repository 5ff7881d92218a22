// SPDX-License-Identifier: LGPL-2.1-or-later
//
// passthru's Cockpit page.  Everything it shows and does goes through
// passthrud's D-Bus API (org.passthru1, docs/DESIGN.md) with Cockpit's own
// client: the Manager's properties and signals, one proxy per Device object
// (kept by Cockpit's ObjectManager watch: InterfacesAdded/Removed and
// PropertiesChanged, no polling, no reload), and the Manager's methods.
// The one thing the bus does not say, interrupt remapping, comes from
// `passthructl --json check`, read-only.  Calls that need root run through
// Cockpit's administrative access (superuser "try"); without it the page is
// read-only and passthrud refuses every change anyway.
"use strict";

(function () {
    const BUS_NAME = "org.passthru1";
    const MANAGER_PATH = "/org/passthru1";
    const MANAGER = "org.passthru1.Manager";
    const DEVICE = "org.passthru1.Device";
    // A bridge's class (0x06xxxx) is no host driver in the way of VFIO.
    const PCI_CLASS_BRIDGE = 0x06;
    const STATE_CLASS = {
        available: "pf-m-green",
        leased: "pf-m-blue",
        releasing: "pf-m-orange",
        "pending-reboot": "pf-m-orange",
        quarantined: "pf-m-red",
        mismatch: "pf-m-red",
        foreign: "pf-m-red",
    };

    const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
    const manager = client.proxy(MANAGER, MANAGER_PATH);
    const devices = client.proxies(DEVICE, MANAGER_PATH);
    const permission = cockpit.permission({ admin: true });
    let check = null; // passthructl --json check, once
    let busy = false; // a call of ours is under way
    const events = [];

    const $ = (id) => document.getElementById(id);

    function el(tag, attrs, ...children) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (v === undefined || v === null || v === false)
                continue;
            if (k === "class")
                e.className = v;
            else if (k === "text")
                e.textContent = v;
            else if (k.startsWith("on"))
                e.addEventListener(k.substring(2), v);
            else
                e.setAttribute(k, v === true ? "" : v);
        }
        for (const c of children)
            if (c !== null && c !== undefined)
                e.append(c);
        return e;
    }

    function hex4(n) {
        return (n === undefined ? "????" : Number(n).toString(16).padStart(4, "0"));
    }

    function admin() {
        return permission.allowed === true;
    }

    function deviceByAddress(address) {
        for (const path in devices)
            if (devices[path].Address === address)
                return devices[path];
        return null;
    }

    // ---- errors and calls ----

    function showError(what, ex) {
        const name = ex && ex.name ? ex.name : (ex && ex.problem) || "";
        const message = ex && ex.message ? ex.message : String(ex);
        const close = el("button", { class: "pf-c-button pf-m-plain", type: "button", "aria-label": "Close", text: "×" });
        const alert = el("div", { class: "pf-c-alert pf-m-danger pf-m-inline passthru-error", "data-error-name": name },
                         el("p", { class: "pf-c-alert__title", text: what + ": " + message }),
                         name ? el("div", { class: "pf-c-alert__description", text: name }) : null,
                         el("div", { class: "pf-c-alert__action" }, close));
        close.addEventListener("click", () => alert.remove());
        $("errors").append(alert);
    }

    // call(what, method, args): a Manager method; its error goes on the page.
    function call(what, method, args) {
        busy = true;
        render();
        return client.call(MANAGER_PATH, MANAGER, method, args || [])
                .then(reply => reply, ex => {
                    showError(what, ex);
                    return null;
                })
                .finally(() => {
                    busy = false;
                    render();
                });
    }

    function confirmDialog(title, body, confirmText) {
        return new Promise(resolve => {
            $("dialog-title").textContent = title;
            $("dialog-body").textContent = body;
            $("dialog-confirm").textContent = confirmText;
            $("dialog").hidden = false;
            const done = (answer) => {
                $("dialog").hidden = true;
                $("dialog-confirm").onclick = $("dialog-cancel").onclick = null;
                resolve(answer);
            };
            $("dialog-confirm").onclick = () => done(true);
            $("dialog-cancel").onclick = () => done(false);
        });
    }

    // ---- the host ----

    function renderHost() {
        const valid = manager.valid;
        const iommu = valid ? manager.IommuEnabled : undefined;
        let text = iommu === undefined ? "…" : iommu ? "Enabled" : "Disabled: boot with intel_iommu=on (Intel VT-d); on AMD enable it in the firmware, without amd_iommu=off";
        if (check && check.iommu_source)
            text += " (" + check.iommu_source + ")";
        $("iommu").textContent = text;
        $("iommu").dataset.ok = iommu ? "true" : "false";

        const ir = $("interrupt-remapping");
        if (!check) {
            ir.textContent = "…";
        } else if (check.error) {
            ir.textContent = "passthructl check: " + check.error;
            ir.dataset.ok = "false";
        } else {
            const ok = check.interrupt_remapping && !check.allow_unsafe_interrupts;
            ir.textContent = check.allow_unsafe_interrupts
                ? "Not in force: vfio_iommu_type1 allows unsafe interrupts"
                : check.interrupt_remapping ? "In force" : "Not in force";
            ir.dataset.ok = ok ? "true" : "false";
        }

        const on = valid && manager.MaintenanceMode === true;
        const sw = $("maintenance");
        sw.checked = on;
        sw.disabled = !valid || !admin() || busy;
        $("maintenance-label").textContent = on ? "On" : "Off";
        $("maintenance-hint").textContent = !admin()
            ? "Needs administrative access"
            : valid && !on && manager.MaintenanceRequested === true
                ? "Asked for: no new lease until the active ones end and it is switched on again (passthructl maintenance exit cancels)"
                : valid && !on && manager.ActiveLeases > 0 ? "Entering is refused while leases are active" : "";
        $("active-leases").textContent = valid ? String(manager.ActiveLeases) : "…";
        $("version").textContent = valid ? manager.Version : "…";
        $("reboot-required").hidden = !(valid && manager.RebootRequired);
        for (const id of ["opt-live", "opt-force"])
            $(id).disabled = !admin() || !on;
        $("limited-access").hidden = permission.allowed !== false;
        $("passthrough-hint").textContent = on
            ? "Maintenance mode: passthrough and assignments can be changed. Leases are refused until you leave it."
            : "Passthrough and assignments can be changed in maintenance mode only.";
    }

    // ---- the devices ----

    // Why this device's passthrough cannot be turned on, or null.
    function cannotMark(d) {
        if (d.IommuGroup < 0)
            return "No IOMMU group";
        for (const member of d.GroupDevices || []) {
            if (member === d.Address)
                continue;
            const m = deviceByAddress(member);
            if (!m || m.Passthrough || !m.Driver || (m.Class >> 16) === PCI_CLASS_BRIDGE)
                continue;
            if (m.Driver !== "passthru" && m.Driver !== "vfio-pci")
                return "Group not viable: " + member + " is on the host driver " + m.Driver;
        }
        return null;
    }

    // Why the switch is off limits now, or null.
    function switchBlocked(d) {
        if (!admin())
            return "Needs administrative access";
        if (!manager.MaintenanceMode)
            return "Enter maintenance mode first";
        if (d.State === "leased" || d.State === "releasing")
            return "In use by VM " + (d.Owner || "?");
        if (!d.Passthrough)
            return cannotMark(d);
        return null;
    }

    // Release revokes whoever holds the device when it is called: the lease
    // confirmed must still be the one the dialog named (a lease that ended
    // meanwhile, and another VM's that began, are not revoked unasked).
    function confirmRelease(d) {
        const owner = d.Owner, pid = d.OwnerPid;
        confirmDialog("Release " + d.Address + "?",
                      "VM " + (owner || "?") + " (pid " + pid + ") loses the device: passthrud tells it " +
                      "(LeaseRevoked), waits the grace period, then kills every process that still holds the " +
                      "group, and resets the device.", "Release")
                .then(yes => {
                    if (!yes)
                        return;
                    if (!d.valid || d.Owner !== owner || d.OwnerPid !== pid)
                        showError("Release of " + d.Address, {
                            problem: "lease-changed",
                            message: "the lease of VM " + (owner || "?") + " (pid " + pid + ") ended while you " +
                                     "were asked; " + (d.valid && d.Owner ? "VM " + d.Owner + " (pid " + d.OwnerPid +
                                     ") holds it now; " : "") + "nothing was released",
                        });
                    else
                        call("Release of " + d.Address, "Release", [d.Address]);
                });
    }

    // What a switch with Live or Force does that cannot be taken back, for its confirmation; null: nothing.
    function passthroughWarning(d, enabled, live, force) {
        if (force && !enabled && d.State === "quarantined")
            return d.Address + " is quarantined: no trusted reset cleared what its last VM left. With Force its " +
                   "host driver gets it as it is.";
        if (force && enabled)
            return "Force: " + d.Address + " (" + (d.Name || "?") + ") is taken from the host now, even if it " +
                   "carries a mounted file system, swap, the default route or the boot console's display.";
        if (live && enabled)
            return "Live: " + d.Address + " is taken from its host driver " + (d.Driver || "") + " now.";
        if (live)
            return "Live: " + d.Address + " goes to a host driver now.";
        return null;
    }

    // Live and Force are for one change: named in a confirmation, and unticked after it.
    function setPassthrough(d, enabled) {
        const live = $("opt-live").checked, force = $("opt-force").checked;
        const options = { Live: cockpit.variant("b", live), Force: cockpit.variant("b", force) };
        const what = (enabled ? "Passthrough of " : "Ending passthrough of ") + d.Address;
        const warning = passthroughWarning(d, enabled, live, force);
        const go = warning ? confirmDialog(what + "?", warning, enabled ? "Take it" : "End passthrough")
            : Promise.resolve(true);
        go.then(yes => {
            if (!yes)
                return render();        // the switch back as passthrud has it
            $("opt-live").checked = $("opt-force").checked = false;
            call(what, "SetPassthrough", [d.Address, enabled, options]);
        });
    }

    function editAssignments(d, input) {
        const vm = input.value.trim();
        if (!vm)
            return;
        // Out of the field: the table follows again (renderDevices()).
        input.value = "";
        if (document.activeElement)
            document.activeElement.blur();
        call("Assigning " + d.Address + " to " + vm, "Assign", [d.Address, vm]);
    }

    function renderGroup(d) {
        if (d.IommuGroup < 0)
            return el("span", { text: "none" });
        const others = (d.GroupDevices || []).filter(a => a !== d.Address);
        return el("span", {},
                  el("span", { "data-field": "group", text: String(d.IommuGroup) }),
                  others.length
                      ? el("span", { class: "passthru-members", "data-field": "members" },
                           ...others.map(a => {
                               const m = deviceByAddress(a);
                               return el("div", { text: a + (m ? " (" + (m.Driver || "no driver") + ")" : "") });
                           }))
                      : null);
    }

    // A small button for a change only an administrator may make.
    function button(variant, action, text, onclick) {
        return el("button", {
            class: "pf-c-button pf-m-small pf-m-" + variant,
            type: "button",
            "data-action": action,
            disabled: !admin() || busy,
            text,
            onclick,
        });
    }

    function renderRow(d) {
        const blocked = switchBlocked(d);
        const noMark = d.Passthrough ? null : cannotMark(d);
        const sw = el("input", {
            class: "pf-c-switch__input",
            type: "checkbox",
            "data-action": "passthrough",
            "aria-label": "Passthrough of " + d.Address,
            checked: d.Passthrough,
            disabled: blocked !== null || busy,
            onchange: (ev) => setPassthrough(d, ev.target.checked),
        });
        const passthrough = el("td", { "data-field": "passthrough", "data-value": String(d.Passthrough) },
                               el("label", { class: "pf-c-switch", title: blocked || "" }, sw,
                                  el("span", { class: "pf-c-switch__toggle" })),
                               // What cannot change by itself is said beside the switch; the rest in its tooltip.
                               noMark ? el("div", { class: "passthru-reason", text: noMark }) : null);

        // Assign and Unassign, like SetPassthrough, in maintenance mode only.
        const configurable = admin() && manager.MaintenanceMode === true && !busy;
        const assignments = el("td", { "data-field": "assignments" });
        for (const vm of d.Assignments || []) {
            assignments.append(el("span", { class: "pf-c-label pf-m-compact" },
                                  el("span", { class: "pf-c-label__content", text: vm }),
                                  el("button", {
                                      class: "pf-c-button pf-m-plain pf-m-small",
                                      type: "button",
                                      "data-action": "unassign",
                                      "aria-label": "Unassign " + vm,
                                      disabled: !configurable,
                                      text: "×",
                                      onclick: () => call("Unassigning " + d.Address + " from " + vm, "Unassign", [d.Address, vm]),
                                  })));
        }
        if (admin() && d.State !== "host") {
            const input = el("input", {
                class: "pf-c-form-control passthru-vm",
                type: "text",
                placeholder: "VM",
                disabled: !configurable,
                "aria-label": "Assign " + d.Address + " to VM",
                onkeydown: (ev) => { if (ev.key === "Enter") editAssignments(d, ev.target) },
            });
            // The field and its button are one control: the table is not
            // rebuilt while the focus is in either (renderDevices()), and a
            // press on the button leaves the focus in the field, so that the
            // click lands on the button pressed, with what was typed.
            assignments.append(el("span", { class: "passthru-assign", onfocusout: render }, input,
                                  el("button", {
                                      class: "pf-c-button pf-m-secondary pf-m-small",
                                      type: "button",
                                      "data-action": "assign",
                                      disabled: !configurable,
                                      text: "Assign",
                                      onmousedown: (ev) => ev.preventDefault(),
                                      onclick: () => editAssignments(d, input),
                                  })));
        }

        const actions = el("td", { "data-field": "actions" });
        if (d.State === "quarantined") {
            actions.append(button("secondary", "reset", "Reset", () => call("Reset of " + d.Address, "Reset", [d.Address])));
        }
        if (d.State === "leased" || d.State === "releasing") {
            actions.append(button("danger", "release", "Release", () => confirmRelease(d)));
        }
        if (d.Stuck)
            actions.append(el("div", { class: "passthru-reason", text: "Stuck: " + d.Stuck }));
        if (d.ResetHint)
            actions.append(el("div", { class: "passthru-reason", text: d.ResetHint }));

        return el("tr", { "data-address": d.Address, "data-state": d.State },
                  el("td", { "data-field": "address", text: d.Address }),
                  el("td", { "data-field": "ids", text: hex4(d.VendorId) + ":" + hex4(d.DeviceId) }),
                  el("td", { "data-field": "name", text: d.Name }),
                  el("td", {}, renderGroup(d)),
                  el("td", { "data-field": "state" },
                     el("span", { class: "pf-c-label " + (STATE_CLASS[d.State] || "") },
                        el("span", { class: "pf-c-label__content", text: d.State }))),
                  el("td", { "data-field": "driver", text: d.Driver }),
                  el("td", { "data-field": "owner", text: d.Owner }),
                  el("td", { "data-field": "pid", text: d.OwnerPid ? String(d.OwnerPid) : "" }),
                  passthrough, assignments, actions);
    }

    function renderDevices() {
        const list = Object.keys(devices).map(p => devices[p]).filter(d => d.valid && d.Address);
        list.sort((a, b) => a.Address.localeCompare(b.Address));
        const tbody = document.querySelector("#devices tbody");
        // Keep what the user is typing into an assignment field, and its
        // Assign button: rebuilt between the press and the release of a
        // click, the button would never see the click.  Its row stays in
        // the table, every other cell of it brought up to date in place.
        const typing = document.activeElement && document.activeElement.closest(".passthru-assign");
        const editing = typing ? typing.closest("tr") : null;
        const rows = list.map(d => (editing && editing.dataset.address === d.Address
            ? refreshRow(editing, typing, renderRow(d)) : renderRow(d)));
        for (const row of [...tbody.children]) {
            if (row !== editing || !rows.includes(editing))
                row.remove();
        }
        let next = tbody.firstChild;    // the row being edited, or nothing
        for (const row of rows) {
            if (row === editing)
                next = editing.nextSibling;
            else
                tbody.insertBefore(row, next);
        }
        $("devices").dataset.count = String(list.length);
    }

    // @row, whose field and button @typing the user is in, made like @fresh
    // but for them; they follow @fresh's disabled state.
    function refreshRow(row, typing, fresh) {
        const cell = typing.closest("td");
        const freshCells = [...fresh.children];
        const freshTyping = freshCells[[...row.children].indexOf(cell)]?.querySelector(".passthru-assign");
        if (!freshTyping)
            return fresh;       // no field any more (a host device, no right to assign)
        [...row.children].forEach((old, i) => {
            if (old !== cell)
                old.replaceWith(freshCells[i]);
        });
        const controls = typing.querySelectorAll("input, button");
        freshTyping.querySelectorAll("input, button").forEach((c, i) => { controls[i].disabled = c.disabled });
        for (const child of [...cell.children]) {
            if (child !== typing)
                child.remove();
        }
        cell.prepend(...[...freshTyping.parentNode.children].filter(c => c !== freshTyping));
        Object.assign(row.dataset, fresh.dataset);
        return row;
    }

    function renderEvents() {
        $("events").replaceChildren(...events.map(e => el("li", { text: e })));
    }

    let scheduled = false;
    function render() {
        if (scheduled)
            return;
        scheduled = true;
        window.requestAnimationFrame(() => {
            scheduled = false;
            renderHost();
            renderDevices();
            renderEvents();
            document.body.dataset.ready = manager.valid ? "true" : "false";
        });
    }

    function onSignal(name, device, vm, third) {
        const what = name === "LeaseReleased" ? "reason " + third : "pid " + third;
        events.unshift(new Date().toLocaleTimeString() + " " + name + " " + device + " VM " + vm + ", " + what);
        events.length = Math.min(events.length, 12);
        render();
    }

    function start() {
        $("maintenance").addEventListener("change", (ev) => {
            const enter = ev.target.checked;
            call(enter ? "Entering maintenance mode" : "Leaving maintenance mode",
                 enter ? "EnterMaintenanceMode" : "ExitMaintenanceMode");
        });
        $("opt-force").addEventListener("change", (ev) => { if (ev.target.checked) $("opt-live").checked = true });

        manager.addEventListener("changed", render);
        for (const signal of ["LeaseAcquired", "LeaseRevoked", "LeaseReleased"])
            manager.addEventListener(signal, (ev, ...args) => onSignal(signal, ...args));
        devices.addEventListener("added", render);
        devices.addEventListener("changed", render);
        devices.addEventListener("removed", render);
        permission.addEventListener("changed", render);
        client.addEventListener("close", (ev, options) => {
            $("no-daemon").hidden = false;
            $("no-daemon-why").textContent = cockpit.message(options);
        });
        manager.wait().then(() => {
            $("no-daemon").hidden = manager.valid;
            if (!manager.valid)
                $("no-daemon-why").textContent = "no object " + MANAGER_PATH;
            render();
        });

        cockpit.spawn(["passthructl", "--json", "check"], { superuser: "try", err: "message" })
                .then(out => out, (ex, out) => out || Promise.reject(ex)) // it exits 1 when it found a problem
                .then(out => { check = JSON.parse(out) })
                .catch(ex => { check = { error: cockpit.message(ex) } })
                .finally(render);
        render();
    }

    if (document.readyState === "loading")
        document.addEventListener("DOMContentLoaded", start);
    else
        start();
}());
