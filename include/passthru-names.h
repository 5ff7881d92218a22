/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every name that passthrud, passthructl and the tests share: the bus
 * name, object paths, interfaces, error names and file locations.
 */
#pragma once

#define PT_BUS_NAME                     "org.passthru1"
#define PT_MANAGER_PATH                 "/org/passthru1"
#define PT_DEVICE_PATH_PREFIX           "/org/passthru1/device"
#define PT_MANAGER_INTERFACE            "org.passthru1.Manager"
#define PT_DEVICE_INTERFACE             "org.passthru1.Device"

#define PT_ERROR_PREFIX                 "org.passthru1.Error."
#define PT_ERROR_NO_SUCH_DEVICE         PT_ERROR_PREFIX "NoSuchDevice"
#define PT_ERROR_NOT_PASSTHROUGH        PT_ERROR_PREFIX "NotPassthrough"
#define PT_ERROR_DEVICE_BUSY            PT_ERROR_PREFIX "DeviceBusy"
#define PT_ERROR_GROUP_NOT_VIABLE       PT_ERROR_PREFIX "GroupNotViable"
#define PT_ERROR_MAINTENANCE_MODE       PT_ERROR_PREFIX "MaintenanceMode"
#define PT_ERROR_NOT_IN_MAINTENANCE     PT_ERROR_PREFIX "NotInMaintenanceMode"
#define PT_ERROR_LEASES_ACTIVE          PT_ERROR_PREFIX "LeasesActive"
#define PT_ERROR_LIMIT_EXCEEDED         PT_ERROR_PREFIX "LimitExceeded"
#define PT_ERROR_NOT_ASSIGNED           PT_ERROR_PREFIX "NotAssigned"
#define PT_ERROR_IOMMU_UNAVAILABLE      PT_ERROR_PREFIX "IommuUnavailable"
#define PT_ERROR_RESET_FAILED           PT_ERROR_PREFIX "ResetFailed"
#define PT_ERROR_QUARANTINED            PT_ERROR_PREFIX "Quarantined"

/* Files */
#define PT_CONFIG_FILE                  "/etc/passthru/passthru.conf"
#define PT_MODPROBE_FILE                "/etc/modprobe.d/passthru.conf"
#define PT_STATE_DIR                    "/var/lib/passthru"
#define PT_RUNTIME_DIR                  "/run/passthru"

/* The stub driver and the VFIO driver that devices move between. */
#define PT_STUB_DRIVER                  "passthru"
#define PT_VFIO_DRIVER                  "vfio-pci"
