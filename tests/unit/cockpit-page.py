#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page (data/cockpit/) in a headless chromium, without Cockpit
and without a VM.  A stand-in cockpit.js (base1/cockpit.js beside the page,
as Cockpit serves it) plays passthrud's objects and records the calls the
page makes; the clicks and the typing are the browser's own input events
(the DevTools protocol, over --remote-debugging-pipe), a press and a release
apart as a person's are, so that focus, blur and a re-render in between
happen as at a real browser.  The install suite's browser case
(testcase_cockpit_page_in_a_browser) is the end-to-end test, with Cockpit
and passthrud.  Prints "PASS|FAIL|SKIP unit.cockpit.NAME [why]" lines."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# The stand-in for Cockpit's cockpit.js: what passthru.js uses of it.
COCKPIT_JS = r""""use strict";
window.cockpit = (function () {
    function emitter(o) {
        const listeners = {};
        Object.defineProperty(o, "addEventListener", { value: (n, f) => (listeners[n] = listeners[n] || []).push(f) });
        Object.defineProperty(o, "dispatch", { value: (n, ...a) => (listeners[n] || []).forEach(f => f({ type: n }, ...a)) });
        return o;
    }
    const calls = [];
    const manager = emitter({ valid: true, IommuEnabled: true, MaintenanceMode: true, RebootRequired: false,
                              ActiveLeases: 0, Version: "stand-in" });
    Object.defineProperty(manager, "wait", { value: () => Promise.resolve() });
    const devices = emitter({});
    const permission = emitter({ allowed: true });
    const client = emitter({
        proxy: () => manager,
        proxies: () => devices,
        call: (objectPath, iface, method, args) => { calls.push([method, args]); return Promise.resolve([]); },
    });
    window.standin = {
        calls, manager, devices, permission,
        device(objectPath, props) {
            const added = !devices[objectPath];
            devices[objectPath] = Object.assign(devices[objectPath] || { valid: true }, props);
            devices.dispatch(added ? "added" : "changed", devices[objectPath]);
        },
    };
    return {
        dbus: () => client,
        permission: () => permission,
        spawn: () => Promise.resolve(JSON.stringify({ iommu_source: "stand-in", interrupt_remapping: true })),
        variant: (type, value) => ({ t: type, v: value }),
        message: (o) => String(o && o.message || o),
    };
}());
"""

EDU = "0000:01:00.0"
ROW = '#devices tr[data-address="%s"] ' % EDU


class Fail(Exception):
    pass


def device(address, **props):
    d = {"Address": address, "VendorId": 0x1234, "DeviceId": 0x11e8, "Name": "edu", "Class": 0xff0000,
         "Driver": "passthru", "State": "available", "Passthrough": True, "IommuGroup": 7,
         "GroupDevices": [address], "Viable": True, "Owner": "", "OwnerPid": 0, "Stuck": "", "Assignments": [],
         "ResetHint": ""}
    d.update(props)
    return d


def object_path(address):
    return "/org/passthru1/device/" + address.replace(":", "_").replace(".", "_")


class Page:
    """chromium and the DevTools protocol on its pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pt-cockpit-")
        for d in ("base1", "system", "passthru"):
            os.mkdir(os.path.join(self.dir, d))
        with open(os.path.join(self.dir, "base1/cockpit.js"), "w") as f:
            f.write(COCKPIT_JS)
        open(os.path.join(self.dir, "system/services.css"), "w").close()
        for name in os.listdir(os.path.join(TOP, "data/cockpit")):
            shutil.copy(os.path.join(TOP, "data/cockpit", name), os.path.join(self.dir, "passthru", name))
        to_browser, self.writer = os.pipe()
        self.reader, from_browser = os.pipe()

        def fds():
            # Through fresh copies: a dup2() onto the fd itself would leave its close-on-exec flag.
            i, o = os.dup(to_browser), os.dup(from_browser)
            os.dup2(i, 3)
            os.dup2(o, 4)
        self.browser = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--window-size=1600,1000", "--user-data-dir=" + os.path.join(self.dir, "profile"),
             "--remote-debugging-pipe", "about:blank"],
            # os.pipe()'s ends close at exec; the copies dup2() made stay (close_fds would close them).
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.buf = b""
        self.id = 0
        self.session = None
        self.target = None

    def send(self, method, params=None, session=True):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.writer, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.reader, 65536)
                if not chunk:
                    raise Fail("chromium is gone")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.id:
                if "error" in reply:
                    raise Fail("%s: %s" % (method, reply["error"].get("message")))
                return reply["result"]

    def js(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in r:
            raise Fail("%s: %s" % (expression, r["exceptionDetails"].get("exception", {}).get("description")))
        return r["result"].get("value")

    def until(self, what, expression, timeout=5):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.js(expression):
                return
            time.sleep(0.05)
        raise Fail("not within %d s: %s" % (timeout, what))

    def open(self, devices):
        """A fresh page load with these devices."""
        if self.target:
            self.send("Target.closeTarget", {"targetId": self.target}, session=False)
        self.target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": self.target, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": "file://" + os.path.join(self.dir, "passthru/index.html")})
        # Evaluated while the page loads too: no body yet is "not yet", not a failure; a busy host loads slowly.
        self.until("the page's start", "typeof window.standin === 'object' && document.body !== null && "
                   "document.body.dataset.ready === 'true'", timeout=30)
        for d in devices:
            self.js("standin.device(%s, %s)" % (json.dumps(object_path(d["Address"])), json.dumps(d)))
        self.until("the rows", "document.querySelectorAll('#devices tbody tr').length === %d" % len(devices))

    def click(self, selector):
        """A person's click: press, a pause, release."""
        at = self.js("(() => { const e = document.querySelector(%s); if (!e) return null;"
                     "e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect();"
                     "return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector))
        if not at:
            raise Fail("nothing to click: " + selector)
        x, y = at
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        self.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": "left",
                                               "buttons": 1, "clickCount": 1})
        time.sleep(0.12)
        self.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y, "button": "left",
                                               "buttons": 0, "clickCount": 1})
        time.sleep(0.05)

    def type(self, text):
        self.send("Input.insertText", {"text": text})

    def key(self, key, code, text=None):
        down = {"type": "keyDown" if text else "rawKeyDown", "key": key, "code": key, "windowsVirtualKeyCode": code}
        if text:
            down["text"] = text
        self.send("Input.dispatchKeyEvent", down)
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": code})
        time.sleep(0.05)

    def calls(self):
        return self.js("JSON.stringify(standin.calls)")

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except (Fail, OSError):
            pass
        try:
            self.browser.wait(10)
        except subprocess.TimeoutExpired:
            self.browser.kill()
            self.browser.wait()
        os.close(self.writer)
        os.close(self.reader)
        shutil.rmtree(self.dir, ignore_errors=True)


def expect_calls(page, want):
    got = page.calls()
    if got != json.dumps(want, separators=(",", ":")):
        raise Fail("calls made: " + got)


def markup_from_the_bus_is_shown_as_text(page):
    """What a pci.ids line or a process's name says is text, never markup."""
    markup = '<img src=x onerror="window.injected=1">'
    page.open([device(EDU, Name=markup, State="releasing", Stuck="pid 812 (%s)" % markup)])
    time.sleep(0.2)
    got = page.js("[document.querySelector('%s[data-field=name]').textContent,"
                  " document.querySelectorAll('#devices img').length, window.injected === 1]" % ROW)
    if got != [markup, 0, False]:
        raise Fail("name cell %r, %d img in the table, injected %s" % tuple(got))


def assign_by_a_click_on_the_button(page):
    """Typed into the field, then a click on Assign: the field's blur used to
    rebuild the table between the press and the release, and the click was lost."""
    page.open([device(EDU)])
    page.click(ROW + "input.passthru-vm")
    page.type("vm-a")
    page.click(ROW + "button[data-action=assign]")
    expect_calls(page, [["Assign", [EDU, "vm-a"]]])


def assign_by_enter_in_the_field(page):
    page.open([device(EDU)])
    page.click(ROW + "input.passthru-vm")
    page.type("vm-b")
    page.key("Enter", 13, "\r")
    expect_calls(page, [["Assign", [EDU, "vm-b"]]])


def assign_by_tab_to_the_button_and_enter(page):
    page.open([device(EDU)])
    page.click(ROW + "input.passthru-vm")
    page.type("vm-c")
    page.key("Tab", 9)
    time.sleep(0.1)     # a frame: the blur's render has run
    focused = page.js("document.activeElement.dataset.action")
    if focused != "assign":
        raise Fail("the focus after Tab is on %s, not the Assign button" % focused)
    page.key("Enter", 13, "\r")
    expect_calls(page, [["Assign", [EDU, "vm-c"]]])


def release_confirmed_after_the_lease_changed_revokes_nothing(page):
    """The confirmation names a lease; Release revokes whoever holds the device
    when it is called: another VM's lease begun meanwhile is not revoked."""
    page.open([device(EDU, State="leased", Driver="vfio-pci", Owner="vm-a", OwnerPid=100)])
    page.click(ROW + "button[data-action=release]")
    page.until("the dialog", "!document.getElementById('dialog').hidden")
    body = page.js("document.getElementById('dialog-body').textContent")
    if "VM vm-a (pid 100)" not in body:
        raise Fail("the dialog says %r" % body)
    path = json.dumps(object_path(EDU))
    page.js("standin.device(%s, { Owner: '', OwnerPid: 0, State: 'available', Driver: 'passthru' })" % path)
    page.js("standin.device(%s, { Owner: 'vm-b', OwnerPid: 200, State: 'leased', Driver: 'vfio-pci' })" % path)
    time.sleep(0.1)
    page.click("#dialog-confirm")
    expect_calls(page, [])
    shown = page.js("Array.from(document.querySelectorAll('.passthru-error')).map(e => e.textContent).join(' | ')")
    if "nothing was released" not in shown or "VM vm-b (pid 200) holds it now" not in shown:
        raise Fail("the page shows %r" % shown)


def release_confirmed_revokes_the_lease_named(page):
    page.open([device(EDU, State="leased", Driver="vfio-pci", Owner="vm-a", OwnerPid=100)])
    page.click(ROW + "button[data-action=release]")
    page.until("the dialog", "!document.getElementById('dialog').hidden")
    page.click("#dialog-confirm")
    expect_calls(page, [["Release", [EDU]]])


def force_is_asked_for_and_is_for_one_switch(page):
    """Force (and the Live it ticks) named in a confirmation before a
    quarantined device goes back to its host driver unreset, and unticked
    after that one switch: it used to stay ticked, and every later switch
    was sent with it, unasked."""
    nic = "0000:02:00.0"
    page.open([device(EDU, State="quarantined"),
               device(nic, Name="82574L", State="host", Driver="e1000e", Passthrough=False, IommuGroup=8,
                      GroupDevices=[nic])])
    page.click("#opt-force")
    page.click(ROW + "input[data-action=passthrough]")
    page.until("the dialog", "!document.getElementById('dialog').hidden")
    body = page.js("document.getElementById('dialog-body').textContent")
    if "quarantined" not in body or "as it is" not in body:
        raise Fail("the dialog says %r" % body)
    page.click("#dialog-cancel")
    expect_calls(page, [])
    page.until("the switch back", "document.querySelector('%sinput[data-action=passthrough]').checked" % ROW)
    page.click(ROW + "input[data-action=passthrough]")
    page.until("the dialog", "!document.getElementById('dialog').hidden")
    page.click("#dialog-confirm")
    expect_calls(page, [["SetPassthrough", [EDU, False, {"Live": {"t": "b", "v": True},
                                                          "Force": {"t": "b", "v": True}}]]])
    ticked = page.js("[document.getElementById('opt-live').checked, document.getElementById('opt-force').checked]")
    if ticked != [False, False]:
        raise Fail("after the switch Live, Force ticked: %s" % ticked)
    page.js("standin.calls.length = 0")
    page.click('#devices tr[data-address="%s"] input[data-action=passthrough]' % nic)
    time.sleep(0.2)
    if page.js("!document.getElementById('dialog').hidden"):
        raise Fail("a dialog for a switch without Live or Force")
    expect_calls(page, [["SetPassthrough", [nic, True, {"Live": {"t": "b", "v": False},
                                                         "Force": {"t": "b", "v": False}}]]])


def the_row_being_typed_in_follows_the_bus(page):
    """The focus in a row's Assign field kept the whole table as it was (a
    leased device shown available, no Release) for as long as it stayed
    there: every cell but the field and its button follows the bus, and
    what was typed is kept and assigned."""
    page.open([device(EDU)])
    page.click(ROW + "input.passthru-vm")
    page.type("vm-d")
    page.js("standin.device(%s, { Owner: 'vm-x', OwnerPid: 4242, State: 'leased', Driver: 'vfio-pci' })"
            % json.dumps(object_path(EDU)))
    page.until("the row leased", "document.querySelector('%s'.trim()).dataset.state === 'leased'" % ROW)
    got = page.js("[document.querySelector('%s[data-field=owner]').textContent,"
                  " !!document.querySelector('%s[data-action=release]'),"
                  " document.activeElement.classList.contains('passthru-vm'), document.activeElement.value]"
                  % (ROW, ROW))
    if got != ["vm-x", True, True, "vm-d"]:
        raise Fail("owner %r, a Release button %s, the focus in the field %s, its text %r" % tuple(got))
    page.click(ROW + "button[data-action=assign]")
    expect_calls(page, [["Assign", [EDU, "vm-d"]]])
    page.click(ROW + "input.passthru-vm")
    page.js("standin.manager.MaintenanceMode = false; standin.manager.dispatch('changed')")
    page.until("Assign disabled out of maintenance mode",
               "document.querySelector('%sbutton[data-action=assign]').disabled" % ROW)


def maintenance_asked_for_is_said(page):
    """An EnterMaintenanceMode refused for active leases stops new ones (MaintenanceRequested): the page says so."""
    page.open([device(EDU)])
    page.js("standin.manager.MaintenanceMode = false; standin.manager.ActiveLeases = 1;"
            " standin.manager.MaintenanceRequested = true; standin.manager.dispatch('changed')")
    page.until("the hint says it was asked for",
               "document.getElementById('maintenance-hint').textContent.startsWith('Asked for: no new lease')")
    page.js("standin.manager.MaintenanceRequested = false; standin.manager.dispatch('changed')")
    page.until("the hint back to the refusal",
               "document.getElementById('maintenance-hint').textContent === 'Entering is refused while leases are active'")


CASES = [markup_from_the_bus_is_shown_as_text, maintenance_asked_for_is_said, assign_by_a_click_on_the_button, assign_by_enter_in_the_field,
         assign_by_tab_to_the_button_and_enter, release_confirmed_after_the_lease_changed_revokes_nothing,
         release_confirmed_revokes_the_lease_named, force_is_asked_for_and_is_for_one_switch,
         the_row_being_typed_in_follows_the_bus]


def main():
    if not os.access(CHROMIUM, os.X_OK):
        print("SKIP unit.cockpit.page (no %s: make deps installs chromium)" % CHROMIUM)
        return 0
    rc = 0
    page = Page()
    try:
        for case in CASES:
            try:
                case(page)
                print("PASS unit.cockpit." + case.__name__)
            except Fail as e:
                print("FAIL unit.cockpit.%s %s" % (case.__name__, e))
                rc = 1
    except (Fail, OSError) as e:
        print("FAIL unit.cockpit.page %s" % e)
        rc = 1
    finally:
        page.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
