// SPDX-License-Identifier: GPL-2.0
/*
 * The passthru stub driver.
 *
 * A device that a rule claims is pinned to this driver with driver_override
 * as soon as it is known (at load, at HIDE, or from the bus notifier before
 * any driver is matched on hot-add), so that no host driver can bind it,
 * not even for a moment.  The driver then binds it, saves its state, resets
 * it when it can and turns bus mastering off.  One that a host driver holds
 * already is pinned too, and claimed when that driver lets go and the
 * device is probed again.  UNHIDE releases every pinned device no rule
 * claims any more.  A bridge is never pinned nor claimed (pt_unclaimable()).
 *
 * Locking: pt_change_lock serializes HIDE and UNHIDE (the netlink family
 * has parallel_ops: no genl_mutex around them), across both of their
 * phases, and their end with the module's; it is taken before pt_lock and
 * may be held across binding and unbinding.  pt_lock protects the rule
 * list, the pin list and pt_live.  It may be held while taking a device
 * lock (driver overrides) only where that lock cannot be held for long:
 * a device the bus notifier has just been told of.  Elsewhere (load,
 * HIDE, rollback, unload) the overrides are set or cleared after pt_lock
 * is dropped, under pt_change_lock: a vfio-pci unbind holds the device
 * lock until the device's user lets go, and GET, hot-add and hot-remove
 * must not wait for that.  Never the other way round: probe() and
 * remove() run under the device lock and do not take pt_lock, nor does
 * the bus notifier when a driver is bound (it runs under the device lock).
 * It is never held across binding or unbinding (device_attach(),
 * device_release_driver()): those run the PCI bus notifier chain, and
 * pt_bus_notify() takes pt_lock under the chain's rwsem when a device
 * comes or goes.
 */
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "compat.h"
#include "netlink.h"
#include "stub.h"

#define PT_DRV_NAME "passthru"

struct pt_rule_node {
	struct list_head node;
	struct pt_rule rule;
	char text[PT_RULE_TEXT_LEN];
};

/* A device whose driver_override we set; holds a reference to it. */
struct pt_pin {
	struct list_head node;
	struct pci_dev *pdev;
	bool claimed;		/* bound (and reset) once already */
};

static DEFINE_MUTEX(pt_change_lock);
static DEFINE_MUTEX(pt_lock);
static LIST_HEAD(pt_rules);
static unsigned int pt_n_rules;		/* at most PT_RULES_MAX */
static LIST_HEAD(pt_pins);
/* Changes to pt_pins take pt_lock and this; probe() reads under this only. */
static DEFINE_SPINLOCK(pt_pins_lock);
static bool pt_live;

static struct pci_driver pt_driver;

static void pt_devid(struct pci_dev *pdev, struct pt_devid *id)
{
	id->domain = pci_domain_nr(pdev->bus);
	id->bus = pdev->bus->number;
	id->devfn = pdev->devfn;
	id->vendor = pdev->vendor;
	id->device = pdev->device;
	id->subvendor = pdev->subsystem_vendor;
	id->subdevice = pdev->subsystem_device;
	id->class = pdev->class;
	id->is_vf = pdev->is_virtfn;
	if (id->is_vf) {
		struct pci_dev *pf = pci_physfn(pdev);
		int vf = pci_iov_vf_id(pdev);

		id->pf_domain = pci_domain_nr(pf->bus);
		id->pf_bus = pf->bus->number;
		id->pf_devfn = pf->devfn;
		id->vf = vf < 0 ? 0xffff : vf;
	}
}

/*
 * The first rule that claims @id, or NULL.  When none does but an address
 * rule pins other ids, that rule is returned through @mismatch.
 */
static struct pt_rule_node *pt_find_rule(const struct pt_devid *id,
					 struct pt_rule_node **mismatch)
{
	struct pt_rule_node *rn;

	lockdep_assert_held(&pt_lock);
	if (mismatch)
		*mismatch = NULL;
	list_for_each_entry(rn, &pt_rules, node) {
		switch (pt_rule_check(&rn->rule, id)) {
		case PT_MATCH:
			return rn;
		case PT_MISMATCH:
			if (mismatch && !*mismatch)
				*mismatch = rn;
			break;
		case PT_NO_MATCH:
			break;
		}
	}
	return NULL;
}

static struct pt_pin *pt_find_pin(struct pci_dev *pdev)
{
	struct pt_pin *pin;

	lockdep_assert_held(&pt_lock);
	list_for_each_entry(pin, &pt_pins, node)
		if (pin->pdev == pdev)
			return pin;
	return NULL;
}

static struct pci_driver pt_driver;

static bool pt_override_is_ours(struct pci_dev *pdev)
{
	return pt_driver_override_is(pdev, &pt_driver.driver);
}

/*
 * A device pinned under pt_lock whose driver_override is set once pt_lock
 * is dropped (pt_pin_overrides()).  It holds a reference of its own: the
 * pin may go meanwhile (the device removed).
 */
struct pt_todo {
	struct list_head node;
	struct pci_dev *pdev;
};

static void pt_todo_free(struct pt_todo *t)
{
	list_del(&t->node);
	pci_dev_put(t->pdev);
	kfree(t);
}

/*
 * Pin @pdev.  With @todo, its override is left for the caller to set after
 * dropping pt_lock (pt_pin_overrides()); without, it is set now, which
 * takes the device lock: only for a device just added to the bus.
 */
static int pt_pin(struct pci_dev *pdev, struct list_head *todo)
{
	struct pt_todo *t = NULL;
	struct pt_pin *pin;
	int ret;

	lockdep_assert_held(&pt_lock);
	pin = kzalloc(sizeof(*pin), GFP_KERNEL);
	if (!pin)
		return -ENOMEM;
	if (todo) {
		t = kzalloc(sizeof(*t), GFP_KERNEL);
		if (!t) {
			kfree(pin);
			return -ENOMEM;
		}
		t->pdev = pci_dev_get(pdev);
		list_add_tail(&t->node, todo);
	} else {
		ret = pt_set_driver_override(pdev, PT_DRV_NAME);
		if (ret) {
			kfree(pin);
			return ret;
		}
	}
	pin->pdev = pci_dev_get(pdev);
	spin_lock(&pt_pins_lock);
	list_add_tail(&pin->node, &pt_pins);
	spin_unlock(&pt_pins_lock);
	return 0;
}

/* Move a pin from the pin list to @list, the caller's to pt_pin_free(). */
static void pt_pin_unlink(struct pt_pin *pin, struct list_head *list)
{
	lockdep_assert_held(&pt_lock);
	spin_lock(&pt_pins_lock);
	list_move_tail(&pin->node, list);
	spin_unlock(&pt_pins_lock);
}

/* Drop @pdev's driver_override if it is still ours. */
/* Whether it was ours (and is cleared now). */
static bool pt_clear_override(struct pci_dev *pdev)
{
	if (!pt_override_is_ours(pdev))
		return false;
	pt_set_driver_override(pdev, "");
	return true;
}

/* Free an unlinked pin; with @clear, also drop the override if still ours. */
static void pt_pin_free(struct pt_pin *pin, bool clear)
{
	struct pci_dev *pdev = pin->pdev;

	list_del(&pin->node);
	if (clear)
		pt_clear_override(pdev);
	pci_dev_put(pdev);
	kfree(pin);
}

/* Forget a pin; with @clear, also drop the override if it is still ours. */
static void pt_unpin(struct pt_pin *pin, bool clear)
{
	LIST_HEAD(gone);

	pt_pin_unlink(pin, &gone);
	pt_pin_free(pin, clear);
}

/*
 * Set the override of each device on @todo, pinned under pt_lock, which the
 * caller no longer holds (the device lock may be held for long); free the
 * list.  A device whose override cannot be set is unpinned again, named in
 * the log.  Returns 0 or the first error.
 */
static int pt_pin_overrides(struct list_head *todo)
{
	struct pt_todo *t, *tmp;
	struct pt_pin *pin;
	int ret = 0, err;

	list_for_each_entry_safe(t, tmp, todo, node) {
		err = pt_set_driver_override(t->pdev, PT_DRV_NAME);
		if (err) {
			pci_warn(t->pdev, "cannot pin it to passthru: %d\n", err);
			mutex_lock(&pt_lock);
			pin = pt_find_pin(t->pdev);
			if (pin)
				pt_unpin(pin, false);
			mutex_unlock(&pt_lock);
			if (!ret)
				ret = err;
		}
		pt_todo_free(t);
	}
	return ret;
}

/*
 * Unlink every pin of a device that no rule claims any more onto @gone,
 * for the caller to free with pt_pin_free() once pt_lock is dropped.
 */
static void pt_unlink_unclaimed(struct list_head *gone)
{
	struct pt_pin *pin, *tmp;
	struct pt_devid id;

	lockdep_assert_held(&pt_lock);
	list_for_each_entry_safe(pin, tmp, &pt_pins, node) {
		pt_devid(pin->pdev, &id);
		if (!pt_find_rule(&id, NULL))
			pt_pin_unlink(pin, gone);
	}
}

/*
 * Is this the first time passthru binds @pdev since it was pinned, or
 * since another driver than vfio-pci had it (pt_bound_elsewhere())?  Later
 * binds are devices coming back from vfio-pci: passthrud has reset them
 * with the strongest method they offer, once, and another reset here
 * would only add a weaker one.
 */
static bool pt_first_claim(struct pci_dev *pdev)
{
	struct pt_pin *pin;
	bool first = true;

	spin_lock(&pt_pins_lock);
	list_for_each_entry(pin, &pt_pins, node) {
		if (pin->pdev == pdev) {
			first = !pin->claimed;
			pin->claimed = true;
			break;
		}
	}
	spin_unlock(&pt_pins_lock);
	return first;
}

/*
 * A driver other than passthru and vfio-pci has just bound @pdev (an admin
 * moved it to a host driver, say).  passthrud resets only what comes back
 * from vfio-pci, so the next claim resets the device itself.  Runs under
 * the device lock: takes the pins spinlock only, as probe() does.
 */
static void pt_bound_elsewhere(struct pci_dev *pdev)
{
	struct device_driver *drv = pdev->dev.driver;
	struct pt_pin *pin;

	if (!drv || drv == &pt_driver.driver || !strcmp(drv->name, "vfio-pci"))
		return;
	spin_lock(&pt_pins_lock);
	list_for_each_entry(pin, &pt_pins, node)
		if (pin->pdev == pdev)
			pin->claimed = false;
	spin_unlock(&pt_pins_lock);
}

/*
 * Pin @pdev if a rule claims it, whether or not a driver holds it: the
 * override only counts when drivers are next matched, so a host driver
 * that holds the device keeps it, and once it lets go the next probe
 * (drivers_probe, a rescan, a module loaded) gives the device to passthru,
 * never to a host driver.  Every device a rule claims is pinned, so that
 * UNHIDE, which walks the pins, releases them all.  With @todo, the
 * override is the caller's to set (pt_pin()).  Returns 0, or the error
 * that kept a device a rule claims from being pinned.
 */
static int pt_consider(struct pci_dev *pdev, struct list_head *todo)
{
	struct pt_rule_node *rn, *mismatch;
	struct pt_devid id;
	const char *why;
	int ret;

	lockdep_assert_held(&pt_lock);
	pt_devid(pdev, &id);
	if (!pt_devid_nameable(&id)) {
		if (!list_empty(&pt_rules))
			pci_info(pdev, "domain %x is beyond what a rule can name (at most %x): no rule applies to it\n",
				 id.domain, PT_DOMAIN_MAX);
		return 0;
	}
	rn = pt_find_rule(&id, &mismatch);
	if (!rn) {
		if (mismatch)
			pci_info(pdev, "ids %04x:%04x do not match rule %s, not claiming it\n",
				 id.vendor, id.device, mismatch->text);
		return 0;
	}
	if (pt_find_pin(pdev))
		return 0;
	why = pt_unclaimable(pdev->hdr_type);
	if (why) {
		pci_info(pdev, "%s; leaving it alone (rule %s)\n", why, rn->text);
		return 0;
	}
	ret = pt_pin(pdev, todo);
	if (ret) {
		pci_warn(pdev, "cannot pin it to passthru (rule %s): %d\n",
			 rn->text, ret);
		return ret;
	}
	/* Not dev.driver->name: the driver may leave meanwhile (no device lock). */
	if (pdev->dev.driver)
		pci_info(pdev, "held by driver %s, pinned to passthru for when it lets go (rule %s)\n",
			 dev_driver_string(&pdev->dev), rn->text);
	return 0;
}

static int pt_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct pci_saved_state *saved;
	const char *why;
	int ret;

	/*
	 * Only a device pinned to passthru (its rules, HIDE, a driver_override
	 * written by hand): not one an id written to new_id brings, as it
	 * does to pci-stub, which no rule, GET or UNHIDE would know of.
	 */
	if (!pt_driver_override_is_locked(pdev, &pt_driver.driver)) {
		pci_info(pdev, "not claiming it: not pinned to passthru (passthru.hide=, ids= or HIDE; new_id is not used)\n");
		return -ENODEV;
	}

	/* Pinned by hand (driver_override), say: still not a bridge. */
	why = pt_unclaimable(pdev->hdr_type);
	if (why) {
		pci_info(pdev, "not claiming it: %s\n", why);
		return -ENODEV;
	}

	pci_save_state(pdev);
	saved = pci_store_saved_state(pdev);
	if (!saved)
		return -ENOMEM;

	if (!pt_first_claim(pdev)) {
		pci_clear_master(pdev);
		pci_set_drvdata(pdev, saved);
		pci_info(pdev, "claimed back, without another reset\n");
		pt_netlink_event(PASSTHRU_EVENT_CLAIM, pdev, NULL);
		return 0;
	}

	ret = pci_reset_function_locked(pdev);
	pci_clear_master(pdev);
	pci_set_drvdata(pdev, saved);

	if (ret == -ENOTTY)
		pci_info(pdev, "claimed; it has no reset method\n");
	else if (ret)
		pci_warn(pdev, "claimed; reset failed: %d\n", ret);
	else
		pci_info(pdev, "claimed and reset\n");
	pt_netlink_event(PASSTHRU_EVENT_CLAIM, pdev, NULL);
	return 0;
}

/*
 * Write back the config space saved at the claim, with bus mastering off:
 * the saved copy may have it on (a host driver's, or firmware's), and the
 * device must not master DMA, not even between two writes.  Whoever takes
 * the device next turns it on when it wants it (pci_set_master()).
 * Consumes @saved when @free.
 */
static void pt_restore_quiet(struct pci_dev *pdev, struct pci_saved_state **saved,
			     bool free)
{
	int ret;

	if (free)
		ret = pci_load_and_free_saved_state(pdev, saved);
	else
		ret = pci_load_saved_state(pdev, *saved);
	if (!ret && pdev->state_saved) {
		pdev->saved_config_space[PCI_COMMAND / 4] &= ~PCI_COMMAND_MASTER;
		pci_restore_state(pdev);
	}
	pci_clear_master(pdev);
}

static void pt_remove(struct pci_dev *pdev)
{
	struct pci_saved_state *saved = pci_get_drvdata(pdev);

	pt_restore_quiet(pdev, &saved, true);
	pci_set_drvdata(pdev, NULL);
	pci_info(pdev, "released\n");
	pt_netlink_event(PASSTHRU_EVENT_RELEASE, pdev, NULL);
}

/*
 * PCIe error recovery (AER, DPC) of a device passthru holds.  Without
 * these the PCI core gives up on every device below the port that
 * reported the error ("can't recover (no error_detected callback)"), host
 * drivers' devices beside ours included, and leaves them unresumed.
 * A claimed device is idle (bus mastering off, no interrupts, nobody
 * maps it): there is nothing to stop.  After a fatal error the core has
 * reset the link below the port, and the device's config space is gone:
 * slot_reset() writes back the copy saved at the claim.  slot_reset() also
 * runs when a driver beside ours asked for a reset after a non-fatal error
 * (6.1 then resets nothing): writing back that copy changes nothing the
 * device had since its claim.  Called under the device lock, in process
 * context.
 */
static pci_ers_result_t pt_error_detected(struct pci_dev *pdev,
					  pci_channel_state_t state)
{
	pt_netlink_event(PASSTHRU_EVENT_ERROR, pdev, NULL);
	if (state == pci_channel_io_perm_failure) {
		pci_warn(pdev, "PCIe error: the device failed for good\n");
		return PCI_ERS_RESULT_DISCONNECT;
	}
	if (state == pci_channel_io_frozen) {
		pci_warn(pdev, "PCIe error (fatal): its config space is written back after the link's reset\n");
		return PCI_ERS_RESULT_NEED_RESET;
	}
	pci_info(pdev, "PCIe error (non-fatal): the device is idle, nothing to stop\n");
	return PCI_ERS_RESULT_CAN_RECOVER;
}

static pci_ers_result_t pt_slot_reset(struct pci_dev *pdev)
{
	struct pci_saved_state *saved = pci_get_drvdata(pdev);

	pt_restore_quiet(pdev, &saved, false);
	return PCI_ERS_RESULT_RECOVERED;
}

static void pt_error_resume(struct pci_dev *pdev)
{
	pci_info(pdev, "recovered from the PCIe error, still claimed\n");
}

static const struct pci_error_handlers pt_err_handlers = {
	.error_detected = pt_error_detected,
	.slot_reset = pt_slot_reset,
	.resume = pt_error_resume,
};

static struct pci_driver pt_driver = {
	.name = PT_DRV_NAME,
	.id_table = NULL,	/* only devices pinned with driver_override */
	.probe = pt_probe,
	.remove = pt_remove,
	.err_handler = &pt_err_handlers,
	.driver_managed_dma = true,
};

static int pt_bus_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	struct pt_rule_node *rn, *mismatch;
	char rule[PT_RULE_TEXT_LEN] = "";
	struct pt_devid id;
	struct pt_pin *pin;
	u8 event;

	if (action == BUS_NOTIFY_BOUND_DRIVER) {
		pt_bound_elsewhere(pdev);
		return NOTIFY_DONE;
	}
	if (action != BUS_NOTIFY_ADD_DEVICE && action != BUS_NOTIFY_DEL_DEVICE)
		return NOTIFY_DONE;

	pt_devid(pdev, &id);
	mutex_lock(&pt_lock);
	rn = pt_find_rule(&id, &mismatch);
	if (!rn)
		rn = mismatch;
	if (rn)
		strscpy(rule, rn->text, sizeof(rule));
	if (action == BUS_NOTIFY_ADD_DEVICE) {
		event = PASSTHRU_EVENT_ADD;
		if (pt_live)
			pt_consider(pdev, NULL);
	} else {
		event = PASSTHRU_EVENT_REMOVE;
		pin = pt_find_pin(pdev);
		if (pin)
			pt_unpin(pin, false);
	}
	mutex_unlock(&pt_lock);

	if (rn)
		pt_netlink_event(event, pdev, rule);
	return NOTIFY_DONE;
}

static struct notifier_block pt_bus_nb = {
	.notifier_call = pt_bus_notify,
};

/*
 * Append @rule to the rule list, under pt_lock; its node in *@ret.
 * -EEXIST when an equal rule is there already, -ENOSPC when there are
 * PT_RULES_MAX (checked first: a full list is not searched again).
 */
static int pt_rule_insert(const struct pt_rule *rule, struct pt_rule_node **ret)
{
	struct pt_rule_node *rn;

	lockdep_assert_held(&pt_lock);
	if (pt_n_rules >= PT_RULES_MAX)
		return -ENOSPC;
	list_for_each_entry(rn, &pt_rules, node)
		if (pt_rule_equal(&rn->rule, rule))
			return -EEXIST;
	rn = kzalloc(sizeof(*rn), GFP_KERNEL);
	if (!rn)
		return -ENOMEM;
	rn->rule = *rule;
	pt_rule_format(rule, rn->text, sizeof(rn->text));
	list_add_tail(&rn->node, &pt_rules);
	pt_n_rules++;
	if (ret)
		*ret = rn;
	return 0;
}

static void pt_rule_remove(struct pt_rule_node *rn)
{
	lockdep_assert_held(&pt_lock);
	list_del(&rn->node);
	pt_n_rules--;
	kfree(rn);
}

/*
 * Add a rule before the driver starts (parameters).  -EEXIST: duplicate;
 * -ENOSPC: too many rules.
 */
int pt_stub_add_rule(const struct pt_rule *rule)
{
	int ret;

	mutex_lock(&pt_lock);
	ret = pt_rule_insert(rule, NULL);
	mutex_unlock(&pt_lock);
	return ret;
}

static void pt_release_all(void)
{
	struct pt_rule_node *rn, *rtmp;
	struct pt_pin *pin, *ptmp;
	LIST_HEAD(gone);

	mutex_lock(&pt_lock);
	list_for_each_entry_safe(rn, rtmp, &pt_rules, node)
		pt_rule_remove(rn);
	pt_unlink_unclaimed(&gone);
	mutex_unlock(&pt_lock);
	list_for_each_entry_safe(pin, ptmp, &gone, node)
		pt_pin_free(pin, true);
}

/* No more HIDE nor UNHIDE: one in flight ends first, later ones find !pt_live. */
static void pt_stop(void)
{
	mutex_lock(&pt_change_lock);
	mutex_lock(&pt_lock);
	pt_live = false;
	mutex_unlock(&pt_lock);
	mutex_unlock(&pt_change_lock);
}

int pt_stub_init(void)
{
	struct pci_dev *pdev = NULL;
	LIST_HEAD(todo);
	int ret;

	ret = bus_register_notifier(&pci_bus_type, &pt_bus_nb);
	if (ret)
		goto err_rules;

	/* No UNHIDE until the overrides are set (pt_pin_overrides()). */
	mutex_lock(&pt_change_lock);
	mutex_lock(&pt_lock);
	pt_live = true;
	for_each_pci_dev(pdev)
		pt_consider(pdev, &todo);
	mutex_unlock(&pt_lock);
	pt_pin_overrides(&todo);
	mutex_unlock(&pt_change_lock);

	/* Binds every device pinned above. */
	ret = pci_register_driver(&pt_driver);
	if (ret)
		goto err_notifier;
	return 0;

err_notifier:
	pt_stop();
	bus_unregister_notifier(&pci_bus_type, &pt_bus_nb);
err_rules:
	pt_release_all();
	return ret;
}

void pt_stub_exit(void)
{
	pt_stop();
	bus_unregister_notifier(&pci_bus_type, &pt_bus_nb);
	pci_unregister_driver(&pt_driver);
	pt_release_all();
}

/*
 * Bind the devices @rule pins to passthru that have no driver.  Binding runs
 * the bus notifier chain: not under pt_lock.  Under pt_change_lock: no
 * UNHIDE drops the rule meanwhile.
 */
static void pt_attach_unbound(const struct pt_rule *rule)
{
	struct pci_dev *pdev = NULL;
	struct pt_devid id;

	for_each_pci_dev(pdev) {
		pt_devid(pdev, &id);
		if (pt_rule_check(rule, &id) == PT_NO_MATCH || pdev->dev.driver ||
		    !pt_override_is_ours(pdev))
			continue;
		if (device_attach(&pdev->dev) <= 0)
			pci_warn(pdev, "passthru did not bind it\n");
	}
}

int pt_stub_hide(const struct pt_rule *rule, struct netlink_ext_ack *extack)
{
	struct pci_dev *pdev = NULL;
	struct pt_rule_node *rn;
	struct pt_todo *t, *ttmp;
	struct pt_pin *pin, *ptmp;
	struct pt_devid id;
	LIST_HEAD(todo);
	LIST_HEAD(gone);
	int ret = 0;

	mutex_lock(&pt_change_lock);
	mutex_lock(&pt_lock);
	if (!pt_live) {
		ret = -ESHUTDOWN;
		goto out;
	}
	ret = pt_rule_insert(rule, &rn);
	if (ret == -EEXIST) {
		/*
		 * The same rule again binds what it pins and a failed probe (an
		 * allocation) or an unbind by hand left without a driver: hiding
		 * it again is how such a device is mended.
		 */
		NL_SET_ERR_MSG(extack, "rule already present");
		mutex_unlock(&pt_lock);
		pt_attach_unbound(rule);
		mutex_unlock(&pt_change_lock);
		return ret;
	}
	if (ret) {
		if (ret == -ENOSPC)
			NL_SET_ERR_MSG(extack, "too many rules");
		goto out;
	}

	/*
	 * Pin every device the rule claims, or none: a rule in force over a
	 * device left to host drivers could not be fixed by hiding it again.
	 * Their overrides are set after pt_lock is dropped: the lock of a
	 * device that a vfio-pci unbind holds is waited for under
	 * pt_change_lock alone, and GET and hot-plug go on meanwhile.
	 */
	for_each_pci_dev(pdev) {
		pt_devid(pdev, &id);
		if (pt_rule_check(rule, &id) == PT_NO_MATCH)
			continue;
		ret = pt_consider(pdev, &todo);
		if (ret) {
			pci_dev_put(pdev);
			NL_SET_ERR_MSG(extack, "cannot pin a device the rule claims");
			goto err_unpin;
		}
	}
	mutex_unlock(&pt_lock);

	ret = pt_pin_overrides(&todo);
	if (ret) {
		/* rn is still listed: only pt_change_lock's holders remove rules. */
		mutex_lock(&pt_lock);
		pt_rule_remove(rn);
		pt_unlink_unclaimed(&gone);
		mutex_unlock(&pt_lock);
		list_for_each_entry_safe(pin, ptmp, &gone, node)
			pt_pin_free(pin, true);
		NL_SET_ERR_MSG(extack, "cannot pin a device the rule claims");
		mutex_unlock(&pt_change_lock);
		return ret;
	}
	pr_info("hide %s\n", rn->text);
	pt_attach_unbound(rule);
	mutex_unlock(&pt_change_lock);
	return 0;

err_unpin:
	/* No override is set yet on the devices pinned here. */
	list_for_each_entry_safe(t, ttmp, &todo, node) {
		pin = pt_find_pin(t->pdev);
		if (pin)
			pt_unpin(pin, false);
		pt_todo_free(t);
	}
	pt_rule_remove(rn);
out:
	mutex_unlock(&pt_lock);
	mutex_unlock(&pt_change_lock);
	return ret;
}

int pt_stub_unhide(const struct pt_rule *rule, struct netlink_ext_ack *extack)
{
	struct pt_rule_node *rn, *found = NULL;
	struct pt_pin *pin, *tmp;
	LIST_HEAD(gone);
	int ret = 0, err;

	mutex_lock(&pt_change_lock);
	mutex_lock(&pt_lock);
	if (!pt_live) {
		ret = -ESHUTDOWN;
		goto out;
	}
	list_for_each_entry(rn, &pt_rules, node) {
		if (pt_rule_equal(&rn->rule, rule)) {
			found = rn;
			break;
		}
	}
	if (!found) {
		NL_SET_ERR_MSG(extack, "no such rule");
		ret = -ENOENT;
		goto out;
	}
	pr_info("unhide %s\n", found->text);
	pt_rule_remove(found);
	pt_unlink_unclaimed(&gone);
out:
	mutex_unlock(&pt_lock);

	/*
	 * Unbinding runs the bus notifier chain: not under pt_lock.  A device
	 * on passthru goes to its own driver, if one is loaded; one on
	 * vfio-pci (leased) stays there, with the override its mover set.
	 * The override goes first, so that no new passthru bind can start
	 * before the check of dev.driver below (on 6.1, clearing it takes
	 * the device lock: a bind in flight is over by then too).
	 */
	list_for_each_entry_safe(pin, tmp, &gone, node) {
		struct device *dev = &pin->pdev->dev;
		bool ours = pt_clear_override(pin->pdev);

		/*
		 * Also one pinned to passthru with no driver at all (its host
		 * driver unbound by hand): unpinned, it may have one.  Not one
		 * whose override another mover set (vfio-pci's, a lease's,
		 * between its moves).
		 */
		if (dev->driver == &pt_driver.driver || (ours && !dev->driver)) {
			device_release_driver(dev);
			err = device_attach(dev);
			if (err < 0)
				pci_warn(pin->pdev, "cannot probe it for a host driver: %d\n",
					 err);
		}
		pt_pin_free(pin, false);
	}
	mutex_unlock(&pt_change_lock);
	return ret;
}

static void pt_fill_entry(struct pt_entry *e, struct pci_dev *pdev,
			  struct pt_rule_node *rn, struct pt_rule_node *mismatch)
{
	struct device_driver *drv = NULL;
	const char *why;
	bool locked;

	strscpy(e->address, pci_name(pdev), sizeof(e->address));
	e->present = true;
	e->vendor = pdev->vendor;
	e->device = pdev->device;
	strscpy(e->rule, rn ? rn->text : mismatch->text, sizeof(e->rule));

	/* A device lock can be held for long (unbinding vfio-pci): don't wait. */
	locked = device_trylock(&pdev->dev);
	if (locked) {
		drv = pdev->dev.driver;
		if (drv)
			strscpy(e->driver, drv->name, sizeof(e->driver));
		device_unlock(&pdev->dev);
	}
	e->state = pt_state(true, rn ? PT_MATCH : PT_MISMATCH,
			    drv == &pt_driver.driver, drv || !locked);

	switch (e->state) {
	case PASSTHRU_STATE_MISMATCH:
		snprintf(e->reason, sizeof(e->reason),
			 "ids %04x:%04x differ from the rule's %04x:%04x",
			 pdev->vendor, pdev->device, mismatch->rule.vendor,
			 mismatch->rule.device);
		break;
	case PASSTHRU_STATE_HELD:
		if (locked)
			snprintf(e->reason, sizeof(e->reason),
				 "held by driver %s", e->driver);
		else
			strscpy(e->reason, "busy: its driver is changing",
				sizeof(e->reason));
		break;
	case PASSTHRU_STATE_UNBOUND:
		strscpy(e->reason, "no driver holds it", sizeof(e->reason));
		break;
	}
	why = pt_unclaimable(pdev->hdr_type);
	if (why && (e->state == PASSTHRU_STATE_HELD ||
		    e->state == PASSTHRU_STATE_UNBOUND))
		strscpy(e->reason, why, sizeof(e->reason));
}

/**
 * pt_stub_snapshot() - every device a rule concerns and every absent one
 * @entries: on success, a kvcalloc()ed array for the caller to kvfree()
 * @count: on success, its length
 */
int pt_stub_snapshot(struct pt_entry **entries, size_t *count)
{
	struct pt_rule_node *rn, *mismatch;
	struct pci_dev *pdev = NULL;
	struct pt_entry *e;
	struct pt_devid id;
	size_t n = 0, max = 0;
	int ret = 0;

	mutex_lock(&pt_lock);
	/* Devices can come and go while we count: the count is a bound. */
	for_each_pci_dev(pdev) {
		pt_devid(pdev, &id);
		if (pt_find_rule(&id, &mismatch) || mismatch)
			max++;
	}
	list_for_each_entry(rn, &pt_rules, node)
		if (pt_rule_exact(&rn->rule))
			max++;

	/* Anyone may ask: the caller's memory cgroup pays. */
	e = kvcalloc(max ?: 1, sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e) {
		ret = -ENOMEM;
		goto out;
	}

	for_each_pci_dev(pdev) {
		pt_devid(pdev, &id);
		rn = pt_find_rule(&id, &mismatch);
		if (!rn && !mismatch)
			continue;
		if (n == max) {
			pci_dev_put(pdev);
			break;
		}
		pt_fill_entry(&e[n++], pdev, rn, mismatch);
	}

	list_for_each_entry(rn, &pt_rules, node) {
		const struct pt_rule *r = &rn->rule;

		if (!pt_rule_exact(r) || n == max)
			continue;
		pdev = pci_get_domain_bus_and_slot(r->domain, r->bus,
						   PCI_DEVFN(r->slot, r->func));
		if (pdev) {
			pci_dev_put(pdev);
			continue;
		}
		snprintf(e[n].address, sizeof(e[n].address),
			 "%04x:%02x:%02x.%x", r->domain, r->bus,
			 r->slot & 0x1f, r->func & 0x7);
		strscpy(e[n].rule, rn->text, sizeof(e[n].rule));
		e[n].state = pt_state(false, PT_MATCH, false, false);
		strscpy(e[n].reason, "no device at this address",
			sizeof(e[n].reason));
		n++;
	}
	*entries = e;
	*count = n;
out:
	mutex_unlock(&pt_lock);
	return ret;
}
