/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * passthru: the generic netlink interface of passthru.ko
 *
 * Family PASSTHRU_GENL_NAME, version PASSTHRU_GENL_VERSION, initial network
 * namespace only.
 *
 * PASSTHRU_CMD_GET (dump, anyone)
 *   One message per device a rule matches, present or not (a rule naming
 *   one address whose device is absent has a message of its own); a rule
 *   with wildcards, of a PF's VFs or of ids that matches no device now has
 *   none (a second HIDE of it says it is there):
 *     PASSTHRU_A_ADDRESS    string  "0000:01:00.0"
 *     PASSTHRU_A_VENDOR     u16     absent when the device is not present
 *     PASSTHRU_A_DEVICE     u16     absent when the device is not present
 *     PASSTHRU_A_STATE      u8      enum passthru_state
 *     PASSTHRU_A_RULE       string  the hide rule that matched, as text
 *     PASSTHRU_A_DRIVER     string  the driver holding it, if any
 *     PASSTHRU_A_REASON     string  why it is not claimed, if it is not
 *
 * PASSTHRU_CMD_HIDE, PASSTHRU_CMD_UNHIDE (do, CAP_NET_ADMIN)
 *   Request:
 *     PASSTHRU_A_RULE       string  exactly one hide= token, "(01:00.0)";
 *                                   one such attribute per request
 *   HIDE adds the rule and claims every matching device that no driver
 *   holds; a HIDE of a rule already there fails with EEXIST, and binds
 *   what the rule pins that has no driver (a probe that failed, an unbind
 *   by hand); UNHIDE drops the rule and releases the devices no other rule
 *   matches.  Errors come back with an extended-ACK message naming what
 *   was wrong.
 *
 * PASSTHRU_CMD_EVENT (multicast group PASSTHRU_GENL_MCGRP_EVENTS)
 *     PASSTHRU_A_EVENT      u8      enum passthru_event
 *     PASSTHRU_A_ADDRESS, PASSTHRU_A_VENDOR, PASSTHRU_A_DEVICE,
 *     PASSTHRU_A_RULE (when a rule is involved)
 */
#ifndef _UAPI_LINUX_PASSTHRU_H
#define _UAPI_LINUX_PASSTHRU_H

#define PASSTHRU_GENL_NAME		"passthru"
#define PASSTHRU_GENL_VERSION		1
#define PASSTHRU_GENL_MCGRP_EVENTS	"events"

/* Longest accepted rule text, without the terminating NUL. */
#define PASSTHRU_RULE_MAX		64
/* "dddd:bb:ss.f" and its NUL */
#define PASSTHRU_ADDRESS_LEN		13

enum passthru_cmd {
	PASSTHRU_CMD_UNSPEC,
	PASSTHRU_CMD_GET,
	PASSTHRU_CMD_HIDE,
	PASSTHRU_CMD_UNHIDE,
	PASSTHRU_CMD_EVENT,
	__PASSTHRU_CMD_MAX
};

#define PASSTHRU_CMD_MAX (__PASSTHRU_CMD_MAX - 1)

enum passthru_attr {
	PASSTHRU_A_UNSPEC,
	PASSTHRU_A_ADDRESS,
	PASSTHRU_A_VENDOR,
	PASSTHRU_A_DEVICE,
	PASSTHRU_A_STATE,
	PASSTHRU_A_RULE,
	PASSTHRU_A_DRIVER,
	PASSTHRU_A_REASON,
	PASSTHRU_A_EVENT,
	__PASSTHRU_A_LAST
};

#define PASSTHRU_A_MAX (__PASSTHRU_A_LAST - 1)

enum passthru_state {
	PASSTHRU_STATE_UNSPEC,
	PASSTHRU_STATE_CLAIMED,		/* bound to passthru */
	PASSTHRU_STATE_HELD,		/* another driver holds it */
	PASSTHRU_STATE_UNBOUND,		/* matched, but no driver holds it */
	PASSTHRU_STATE_MISMATCH,	/* the rule pins other ids */
	PASSTHRU_STATE_ABSENT,		/* no device at the rule's address */
	__PASSTHRU_STATE_LAST
};

#define PASSTHRU_STATE_MAX (__PASSTHRU_STATE_LAST - 1)

enum passthru_event {
	PASSTHRU_EVENT_UNSPEC,
	PASSTHRU_EVENT_CLAIM,		/* passthru bound the device */
	PASSTHRU_EVENT_RELEASE,		/* passthru let the device go */
	PASSTHRU_EVENT_ADD,		/* a device matching a rule appeared */
	PASSTHRU_EVENT_REMOVE,		/* a device matching a rule left */
	PASSTHRU_EVENT_ERROR,		/* a claimed device met a PCIe error */
	__PASSTHRU_EVENT_LAST
};

#define PASSTHRU_EVENT_MAX (__PASSTHRU_EVENT_LAST - 1)

#endif /* _UAPI_LINUX_PASSTHRU_H */
