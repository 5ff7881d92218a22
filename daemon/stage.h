/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A staged IOMMU group (StageIdleGroups=yes, passthru.conf's default):
 * between two leases, a group whose return reset every member stays on
 * vfio-pci, with its node (/dev/vfio/N) held open by passthrud, and the
 * next grant hands over that fd: no unbind from passthru, no probe by
 * vfio-pci, no open.
 * Its members are available (Driver vfio-pci).
 *
 * The promise holds: the members were reset, by the return, before the
 * stage began; while passthrud holds the node nobody else can open the
 * group (VFIO opens a group once at a time), so no device fd of it exists
 * or can be made until the next holder has the fd; and that holder's
 * return resets them again.  Only a return that held the node itself (a
 * node only root may open: were passthrud to die, nobody else could take
 * the group), of members whose vfio-pci unbind cannot wait beyond the
 * group (sysfs_unbind_waits_beyond_group(): no VFs, no VFIO device cdev),
 * makes a stage, so that taking one back never waits.
 *
 * A stage ends in one of two ways:
 *   taken     by the next grant (stage_take()): the fd becomes the lease's
 *   unstaged  the members go back to passthru (stage_unstage()): each one
 *             still on vfio-pci is unbound while the node is held (no
 *             device fd exists: the unbind cannot wait), the node is
 *             closed, and they are bound to passthru.  For root's
 *             SetPassthrough and Reset of a member, maintenance mode, a
 *             member's quarantine, a member gone or moved off vfio-pci (it
 *             is quarantined), a grant of a group grown since, and
 *             passthrud's stop.
 * or, when its node is no longer its group's (its members unbound behind
 * passthrud's back), it is dropped and its members are foreign and
 * quarantined (stage_end_if_dead()).
 * A passthrud that dies with stages leaves their members on vfio-pci and
 * leased to nobody: its restart finds them so, and takes their groups back
 * with a reset (lease_reconcile()), or quarantines them when somebody has
 * the group open by then.
 */
#pragma once

#include <stdbool.h>

typedef struct Manager Manager;
typedef struct Device Device;

typedef struct Stage {
        Manager *manager;
        int group;
        int fd;                 /* the group's node, open */
        char **devices;         /* the endpoints; each one's Device ->stage points here */
} Stage;

/*
 * Stage IOMMU group @group of @devices with its open node @fd, which it
 * takes (closed on failure too).  Each device must be known and staged by
 * no other stage.  -ENOMEM, -ENODEV (a device not known), -EBUSY.
 */
int stage_new(Manager *m, int group, char *const *devices, int fd);
/* The group's node, for the grant that takes the stage; the stage is freed. */
int stage_take(Stage *s);
/*
 * Back to passthru (see above), on the loop: a few milliseconds per member.
 * @why is said in the journal ("root's Reset").  A member that cannot be
 * unbound or bound is quarantined, and so is one whose unbind could wait
 * beyond the group by now (VFs made behind passthrud's back): it is left
 * on vfio-pci rather than wait on the loop.  The stage is freed.  0, or
 * the first failure.
 */
int stage_unstage(Stage *s, const char *why);
/* Every stage of @m unstaged (passthrud's stop, maintenance mode). */
void stage_unstage_all(Manager *m, const char *why);
/*
 * Whether the stage's node is still its group's: VFIO answers on it.  When
 * every member of the group leaves vfio-pci (a one-member group's member
 * unbound behind passthrud's back), VFIO tears the group down; bound again,
 * it is made anew, with a node passthrud does not hold (and another tool
 * may have opened).  A member of a larger group that leaves and comes back
 * joins the same group, whose node passthrud still holds: nobody else
 * could have opened it meanwhile.
 */
bool stage_alive(const Stage *s);
/*
 * A stage that is not alive ends, moving nothing (its group is not
 * passthrud's to move any more), and its members are foreign and
 * quarantined, as any device another tool took.  Whether it ended.
 */
bool stage_end_if_dead(Stage *s);
/*
 * @d, a staged member or not, was read again (@r: what device_refresh()
 * returned): a member gone ends its stage, the rest back to passthru; a
 * dead stage ends (stage_end_if_dead()); a member that left vfio-pci ends
 * it too, the rest back to passthru, and is quarantined (someone else
 * moved it).
 */
void stage_check(Device *d, int r);
/* Close the node and forget the stage, moving nothing (the manager's end in tests). */
void stage_free(Stage *s);
/* Whether @d's stage may be taken by a grant of its group's @endpoints: the same stage for each. */
bool stage_covers(const Device *d, char *const *endpoints);
