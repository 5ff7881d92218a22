#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The browser of the install test's Cockpit case: Debian's chromium,
headless, driven through chromedriver (python3-selenium), on the host,
against the guest's Cockpit through the port vmrun.py forwards
($PT_FORWARD_PORT).

vmrun.py starts it for the guest's first "host" line and hands it each
line on standard input; it answers each with one line, "ok [TEXT]" or
"fail WHY".  The guest's case (tests/install/suites/verify.sh) decides what
to do and checks the daemon's side; this program does what a person at the
browser would and reports what the page shows.  Screenshots go to
build/results/web/ (beside the stage's results: $PT_RESULTS/../web).

Commands:
  login USER PASSWORD admin|limited   log in at Cockpit's login page and open
                                      the page (admin: with administrative access)
  table BASE64                        the page's device table equals this
                                      `passthructl --json list` (base64)
  maintenance on|off                  flip the maintenance switch, wait for its state
  refused ERROR                       flip it where passthrud refuses: the page
                                      shows ERROR (a D-Bus error name) and its message
  blocked ADDRESS TEXT...             the device's passthrough switch is
                                      disabled and the page says TEXT
  mark ADDRESS on|off                 flip the device's passthrough switch, wait for it
  reboot-required [yes|no]            the "Reboot required" notice is shown (or not)
  assign|unassign ADDRESS VM          add or take away an assignment with the
                                      row's field and buttons, wait for it
  assign-refused ADDRESS VM ERROR     type a VM name passthrud refuses: the page
                                      shows ERROR, the name in it as text
  row ADDRESS FIELD=VALUE...          wait until the device's row shows these
                                      (state, owner, pid, driver), without a reload
  read-only                           every control is disabled, the notice
                                      says so, and a call made from the page is refused
  screenshot NAME [ADDRESS]           build/results/web/NAME.png (with the device's
                                      row in the middle of the page)
"""
import base64
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

WAIT = 30  # seconds for what the page shows to follow the daemon
LOGIN_WAIT = 180  # a session's start: cockpit-ws, the bridge, sudo, the shell under TCG

# The page's table as the guest's passthructl would print it (the same
# field names as `passthructl --json list`), read from the data-field cells.
READ_TABLE = """
return Array.from(document.querySelectorAll('#devices tbody tr')).map(tr => {
    const f = name => { const c = tr.querySelector('[data-field="' + name + '"]'); return c ? c.textContent : null; };
    const members = tr.querySelector('[data-field="members"]');
    return {
        address: f('address'), ids: f('ids'), name: f('name'), state: f('state'), driver: f('driver'),
        owner: f('owner'), owner_pid: f('pid'), iommu_group: f('group'),
        passthrough: tr.querySelector('[data-field="passthrough"]').dataset.value,
        members: members ? Array.from(members.children).map(d => d.textContent.split(' ')[0]) : [],
    };
});
"""


class Fail(Exception):
    pass


class Browser:
    def __init__(self):
        self.url = "http://127.0.0.1:%s" % os.environ["PT_FORWARD_PORT"]
        self.out = os.path.join(os.path.dirname(os.path.abspath(os.environ.get("PT_RESULTS", "build/results/x"))), "web")
        os.makedirs(self.out, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1600,1500", "--lang=en-US"):
            opts.add_argument(a)
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(120)
        self.driver.set_script_timeout(WAIT)

    def quit(self):
        self.driver.quit()

    def wait(self, what, cond, timeout=WAIT):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                last = cond()
                if last:
                    return last
            except WebDriverException as e:
                last = e.msg
            time.sleep(0.2)
        raise Fail("%s: not within %d s (last: %s)" % (what, timeout, last))

    def frame(self):
        """Into the page's iframe in Cockpit's shell."""
        d = self.driver
        d.switch_to.default_content()
        frames = [f for f in d.find_elements(By.TAG_NAME, "iframe")
                  if (f.get_attribute("name") or "").endswith("/passthru") and f.is_displayed()]
        if not frames:
            return False
        d.switch_to.frame(frames[0])
        return True

    def js(self, script, *args):
        self.frame()
        return self.driver.execute_script(script, *args)

    def login(self, user, password, access):
        d = self.driver
        d.delete_all_cookies()
        d.get(self.url + "/")
        # What Cockpit's login page stores when a user chose administrative
        # access once ("Your browser will remember your access level").
        d.execute_script("localStorage.setItem(arguments[0], arguments[1])", "superuser:" + user,
                         "any" if access == "admin" else "none")
        self.wait("the login form", lambda: d.find_element(By.ID, "login-user-input").is_displayed(), LOGIN_WAIT)
        d.find_element(By.ID, "login-user-input").send_keys(user)
        d.find_element(By.ID, "login-password-input").send_keys(password)
        d.find_element(By.ID, "login-button").click()
        # The shell shows its first page (an iframe) once the session runs.
        self.wait("Cockpit's shell after the login", lambda: d.find_elements(By.TAG_NAME, "iframe") or
                  self.login_error(), LOGIN_WAIT)
        d.get(self.url + "/passthru")
        self.wait("the passthru page", lambda: self.frame() and d.execute_script(
            "return document.body.dataset.ready === 'true' && document.querySelectorAll('#devices tbody tr').length > 0"),
            LOGIN_WAIT)
        # Set once per page load: gone if anything reloads the page.
        self.js("window.passthruTestMark = 'no reload since login'")
        if access == "admin":
            self.wait("administrative access on the page", lambda: self.js(
                "return !document.getElementById('maintenance').disabled"))
        else:
            self.wait("the read-only notice", lambda: self.js(
                "return !document.getElementById('limited-access').hidden"))
        return "%s on %s" % (user, d.current_url)

    def login_error(self):
        err = self.driver.find_elements(By.ID, "login-error-message")
        if err and err[0].is_displayed() and err[0].text:
            raise Fail("login: " + err[0].text)
        return False

    def table(self, encoded):
        expected = json.loads(base64.b64decode(encoded))
        shown = {r["address"]: r for r in self.js(READ_TABLE)}
        want = {d["address"]: d for d in expected}
        problems = []
        if set(shown) != set(want):
            problems.append("devices: page %s, passthructl %s" % (sorted(shown), sorted(want)))
        for a in sorted(set(shown) & set(want)):
            s, w = shown[a], want[a]
            exp = {
                "ids": w["ids"], "name": w["name"], "state": w["state"], "driver": w["driver"], "owner": w["owner"],
                "owner_pid": str(w["owner_pid"]) if w["owner_pid"] else "",
                "iommu_group": str(w["iommu_group"]) if w["iommu_group"] >= 0 else None,
                "passthrough": "true" if w["passthrough"] else "false",
                "members": [m for m in w["group_devices"] if m != a],
            }
            for k, v in exp.items():
                if s[k] != v:
                    problems.append("%s %s: page %r, passthructl %r" % (a, k, s[k], v))
        if problems:
            raise Fail("; ".join(problems[:6]))
        return "%d devices, each as passthructl lists it" % len(want)

    def no_reload(self):
        if self.js("return window.passthruTestMark") != "no reload since login":
            raise Fail("the page was reloaded")

    def maintenance(self, state):
        want = state == "on"
        if self.js("return document.getElementById('maintenance').disabled"):
            raise Fail("the maintenance switch is disabled")
        self.js("document.getElementById('maintenance').click()")
        self.wait("maintenance mode " + state, lambda: self.js(
            "const m = document.getElementById('maintenance');"
            "return m.checked === arguments[0] && !m.disabled && "
            "document.getElementById('maintenance-label').textContent === arguments[1]", want, "On" if want else "Off")
            or self.page_error())
        self.no_reload()
        return "maintenance " + state

    def refused(self, name):
        """The maintenance switch flipped while passthrud will refuse: the
        page shows the error with its D-Bus name and message, and the
        switch stays as passthrud has it."""
        before = self.js("return document.getElementById('maintenance').checked")
        self.js("document.querySelectorAll('.passthru-error').forEach(e => e.remove());"
                "document.getElementById('maintenance').click()")
        shown = self.wait("the page showing " + name, lambda: self.js(
            "return Array.from(document.querySelectorAll('.passthru-error'))"
            ".map(e => e.dataset.errorName + ': ' + e.querySelector('.pf-c-alert__title').textContent).join(' | ')"))
        if name not in shown:
            raise Fail("the page shows %r, not %s" % (shown, name))
        self.wait("the switch back as passthrud has it", lambda: self.js(
            "const m = document.getElementById('maintenance'); return m.checked === arguments[0] && !m.disabled", before))
        self.js("document.querySelector('.passthru-error button').click()")
        self.no_reload()
        return shown

    def page_error(self):
        errors = self.js("return Array.from(document.querySelectorAll('.passthru-error')).map(e => e.textContent)")
        if errors:
            raise Fail("the page shows: " + " | ".join(errors))
        return False

    def switch(self, address):
        return ("const tr = document.querySelector('#devices tr[data-address=\"%s\"]');"
                "const sw = tr && tr.querySelector('input[data-action=passthrough]');" % address)

    def blocked(self, address, *text):
        text = " ".join(text)
        got = self.js(self.switch(address) + "return sw ? [sw.disabled, tr.querySelector('[data-field=passthrough]').textContent] : null")
        if not got:
            raise Fail("no row for " + address)
        if not got[0] or text not in got[1]:
            raise Fail("%s: switch disabled %s, the page says %r, not %r" % (address, got[0], got[1], text))
        return "%s: disabled, '%s'" % (address, got[1].strip())

    def mark(self, address, state):
        want = state == "on"
        got = self.js(self.switch(address) + "if (!sw || sw.disabled) return sw ? 'disabled' : 'missing'; sw.click(); return 'clicked'")
        if got != "clicked":
            raise Fail("%s: the passthrough switch is %s" % (address, got))
        self.wait("%s passthrough %s" % (address, state), lambda: self.js(
            "const tr = document.querySelector('#devices tr[data-address=\"%s\"]');"
            "return tr && tr.querySelector('[data-field=passthrough]').dataset.value === arguments[0]" % address,
            "true" if want else "false") or self.page_error())
        self.no_reload()
        return "%s passthrough %s, state %s" % (address, state, self.js(
            "return document.querySelector('#devices tr[data-address=\"%s\"]').dataset.state" % address))

    def assignments(self, address):
        return self.js("const tr = document.querySelector('#devices tr[data-address=\"%s\"]');"
                       "return tr ? Array.from(tr.querySelectorAll('[data-field=assignments] .pf-c-label__content'))"
                       ".map(e => e.textContent) : null" % address)

    def _type_assignment(self, address, vm):
        """As a person does: a click into the row's field, the name typed, and
        a click on Assign, pressed and released a moment apart (a page that
        rebuilds the row in between loses the click)."""
        self.frame()
        row = '#devices tr[data-address="%s"] ' % address
        fields = self.driver.find_elements(By.CSS_SELECTOR, row + "input.passthru-vm")
        buttons = self.driver.find_elements(By.CSS_SELECTOR, row + "button[data-action=assign]")
        if not fields or not buttons or not buttons[0].is_enabled():
            raise Fail("%s: no enabled Assign field" % address)
        ActionChains(self.driver).click(fields[0]).send_keys(vm).move_to_element(buttons[0]) \
            .click_and_hold().pause(0.2).release().perform()

    def assign(self, address, vm):
        self._type_assignment(address, vm)
        self.wait("%s assigned to %s" % (address, vm), lambda: vm in (self.assignments(address) or [])
                  or self.page_error())
        self.no_reload()
        return "%s assigned to %s" % (address, ", ".join(self.assignments(address)))

    def assign_refused(self, address, vm, name):
        """A name passthrud refuses (ERROR): the page shows the refusal, the
        name in it as text, not as markup."""
        self.js("document.querySelectorAll('.passthru-error').forEach(e => e.remove())")
        before = self.assignments(address)
        self._type_assignment(address, vm)
        shown = self.wait("the page showing " + name, lambda: self.js(
            "return Array.from(document.querySelectorAll('.passthru-error'))"
            ".map(e => [e.dataset.errorName, e.querySelector('.pf-c-alert__title').textContent,"
            " e.querySelectorAll('*').length])"))
        if len(shown) != 1 or shown[0][0] != name or vm not in shown[0][1]:
            raise Fail("the page shows %r, not %s naming %r as text" % (shown, name, vm))
        # The alert's own title, description, action and close button: nothing the name made.
        if shown[0][2] != 4 or self.js("return document.querySelectorAll('#errors img, #errors script, #errors iframe, #devices img').length") != 0:
            raise Fail("the refusal's text became markup: %r" % shown)
        if self.assignments(address) != before:
            raise Fail("%s: assignments %r, were %r" % (address, self.assignments(address), before))
        self.js("document.querySelector('.passthru-error button').click()")
        self.no_reload()
        return "%s: %s" % (shown[0][0], shown[0][1])

    def unassign(self, address, vm):
        got = self.js("const tr = document.querySelector('#devices tr[data-address=\"%s\"]');"
                      "const b = tr && tr.querySelector('button[data-action=unassign][aria-label=\"Unassign ' + arguments[0] + '\"]');"
                      "if (!b || b.disabled) return 'no enabled button to unassign ' + arguments[0];"
                      "b.click(); return 'clicked'" % address, vm)
        if got != "clicked":
            raise Fail("%s: %s" % (address, got))
        self.wait("%s no longer assigned to %s" % (address, vm), lambda: self.assignments(address) is not None and
                  vm not in self.assignments(address) or self.page_error())
        self.no_reload()
        return "%s assigned to: %s" % (address, ", ".join(self.assignments(address)) or "none")

    def reboot_required(self, shown="yes"):
        want = shown == "yes"
        self.wait("the reboot-required notice " + ("shown" if want else "hidden"), lambda: self.js(
            "return !document.getElementById('reboot-required').hidden === arguments[0]", want))
        return self.js("return document.getElementById('reboot-required').textContent").strip() if want else "not shown"

    def row(self, address, *pairs):
        want = dict(p.split("=", 1) for p in pairs)

        def matches():
            rows = {r["address"]: r for r in self.js(READ_TABLE)}
            r = rows.get(address)
            return r if r and all(r[k] == v for k, v in want.items()) else False
        try:
            r = self.wait("%s showing %s" % (address, " ".join(pairs)), matches)
        except Fail as e:
            rows = {r["address"]: r for r in self.js(READ_TABLE)}
            raise Fail("%s; the row: %s" % (e, rows.get(address)))
        self.no_reload()
        return "%s: state %s, VM '%s', pid '%s'" % (address, r["state"], r["owner"], r["owner_pid"])

    def read_only(self):
        controls = self.js("""
            return Array.from(document.querySelectorAll('#maintenance, #opt-live, #opt-force, [data-action]'))
                .map(e => [e.id || e.dataset.action + ' ' + e.closest('tr').dataset.address, e.disabled]);""")
        enabled = [name for name, disabled in controls if not disabled]
        if enabled:
            raise Fail("enabled controls for a user without administrative access: " + ", ".join(enabled))
        if self.js("return document.getElementById('limited-access').hidden"):
            raise Fail("the page does not say it is read-only")
        # A click on the disabled switch changes nothing; a call made from
        # the page's own bus connection is refused by passthrud.
        self.js("document.getElementById('maintenance').click()")
        self.frame()
        reply = self.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            cockpit.dbus('org.passthru1', {bus: 'system', superuser: 'try'})
                .call('/org/passthru1', 'org.passthru1.Manager', 'EnterMaintenanceMode', [])
                .then(() => done('accepted'), ex => done(String(ex.name) + ': ' + ex.message));""")
        if reply == "accepted" or "AccessDenied" not in reply:
            raise Fail("EnterMaintenanceMode from the page: " + reply)
        return "%d controls disabled; a call from the page: %s" % (len(controls), reply)

    def screenshot(self, name, address=None):
        if address:
            self.js("document.querySelector('#devices tr[data-address=\"%s\"]').scrollIntoView({block: 'center'})" % address)
        self.driver.switch_to.default_content()
        path = os.path.join(self.out, name + ".png")
        self.driver.save_screenshot(path)
        return path


def main():
    browser = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if browser is None:
                browser = Browser()
            verb, args = words[0].replace("-", "_"), words[1:]
            method = getattr(browser, verb, None)
            if verb.startswith("_") or verb in ("wait", "frame", "js", "quit") or not callable(method):
                raise Fail("unknown command " + words[0])
            t0 = time.monotonic()
            answer = "ok %s (%.1f s)" % (method(*args), time.monotonic() - t0)
        except Fail as e:
            answer = "fail " + str(e)
        except (WebDriverException, ValueError, KeyError, TypeError) as e:
            answer = "fail %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        print(answer.replace("\n", " "), flush=True)
    if browser:
        browser.quit()


if __name__ == "__main__":
    main()
