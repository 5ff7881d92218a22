/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels passthru builds for, in one place and
 * behind feature probes (kmod/Kbuild looks in the kernel's headers): the
 * rest of kmod/ tests neither a version nor a probe.
 */
#ifndef PASSTHRU_COMPAT_H
#define PASSTHRU_COMPAT_H

#include <linux/device.h>
#include <linux/pci.h>
#include <linux/string.h>

#ifdef PT_HAVE_DEVICE_DRIVER_OVERRIDE
/* driver_override lives in struct device, with a lock of its own. */
static inline int pt_set_driver_override(struct pci_dev *pdev, const char *name)
{
	return device_set_driver_override(&pdev->dev, name);
}

static inline bool pt_driver_override_is(struct pci_dev *pdev,
					 struct device_driver *drv)
{
	return device_match_driver_override(&pdev->dev, drv) > 0;
}

/* The same with the device lock held (a probe): the override has a lock of its own. */
static inline bool pt_driver_override_is_locked(struct pci_dev *pdev,
						struct device_driver *drv)
{
	return pt_driver_override_is(pdev, drv);
}
#else
/* struct pci_dev's own driver_override, under the device lock. */
static inline int pt_set_driver_override(struct pci_dev *pdev, const char *name)
{
	return driver_set_override(&pdev->dev, &pdev->driver_override,
				   name, strlen(name));
}

static inline bool pt_driver_override_is(struct pci_dev *pdev,
					 struct device_driver *drv)
{
	bool match;

	device_lock(&pdev->dev);
	match = pdev->driver_override &&
		!strcmp(pdev->driver_override, drv->name);
	device_unlock(&pdev->dev);
	return match;
}

/* The same with the device lock held (a probe). */
static inline bool pt_driver_override_is_locked(struct pci_dev *pdev,
						struct device_driver *drv)
{
	device_lock_assert(&pdev->dev);
	return pdev->driver_override &&
	       !strcmp(pdev->driver_override, drv->name);
}
#endif

#endif /* PASSTHRU_COMPAT_H */
