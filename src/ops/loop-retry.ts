/**
 * Retry policies of loop device setup (see retry.ts for how policies run).
 */
import { Errno } from "../errno.ts";
import { definePolicy, type RetryPolicy } from "./retry.ts";

/**
 * LOOP_CTL_GET_FREE hands the same free device to every process that asks before one of them
 * binds it; the others' LOOP_CONFIGURE (or LOOP_SET_FD) then fails with EBUSY. Ask for another
 * device: containerd's setupLoop tries 99 times, pausing a random 0..attempt*10 ms so racing
 * processes spread out (after util-linux losetup's create_loop).
 *
 * ENXIO too, beyond containerd: the process that won the device may detach it again at once
 * (losetup FILE; losetup -d DEV), and from its LOOP_CLR_FD to its close the kernel refuses every
 * open(2) of the device with ENXIO (lo_open, Lo_rundown; Linux 6.11). That device was never
 * this attach's either: another free one is asked for, as after EBUSY.
 */
export const LOOP_ATTACH_BUSY: RetryPolicy = definePolicy({
  name: "loop-attach-busy",
  attempts: 99,
  delayMs: 0,
  jitterPerAttemptMs: 10,
  errnos: [Errno.EBUSY, Errno.ENXIO],
  reason: "another process bound the free loop device first, or was detaching it (containerd setupLoop, util-linux create_loop)",
});

/**
 * LOOP_SET_STATUS64 answers EAGAIN while the device's queue is being frozen; util-linux
 * repeats it 250 ms apart, 10 times (lib/loopdev.c repeat_on_eagain, LOOPDEV_MAX_TRIES).
 */
export const LOOP_STATUS_AGAIN: RetryPolicy = definePolicy({
  name: "loop-status-again",
  attempts: 10,
  delayMs: 250,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EAGAIN],
  reason: "LOOP_SET_STATUS64 may answer EAGAIN while the device is busy (util-linux repeat_on_eagain)",
});

/**
 * The wait for /dev/loop-control's lock (ops/loop-lock.ts), which another mountkit process holds
 * while it looks for a device its image is attached to and attaches one: tens of microseconds
 * with LOOP_CONFIGURE, 12-20 ms with LOOP_SET_STATUS64, seconds only while that says EAGAIN
 * (LOOP_STATUS_AGAIN). Asked again every millisecond for about five seconds; after that the
 * holder is taken to be stuck, and the attach goes on without the lock, as mount(8) always does.
 */
export const LOOP_SETUP_LOCK: RetryPolicy = definePolicy({
  name: "loop-setup-lock",
  attempts: 5000,
  delayMs: 1,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EAGAIN],
  reason: "another process holds /dev/loop-control's lock while it looks for an attached device and attaches one (systemd's loop-util takes the same lock)",
});

/**
 * LOOP_CTL_ADD of a number no device has (ops/loop-free.ts, when the free device the kernel gives
 * is held open exclusively by another process and no other is free): EEXIST when another
 * process added that number between the look and the add, or it is there without /dev or sysfs
 * showing it. The next unused number is tried, no pause: nothing is waited for.
 */
export const LOOP_ADD_TAKEN: RetryPolicy = definePolicy({
  name: "loop-add-taken",
  attempts: 16,
  delayMs: 0,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EEXIST],
  reason: "LOOP_CTL_ADD says EEXIST for a number another process added since the look (a new device is added only when the free one is held exclusively)",
});

/**
 * LOOP_CTL_REMOVE of a device an attach added and then did not use (ops/loop-add.ts,
 * ops/loop-free.ts): the kernel refuses it (EBUSY) while any process has the device open, and
 * udev's rules open a device just added to read what it holds (blkid). Asked again 10 ms apart,
 * for about 100 ms; a device still open then is left, and said so.
 */
export const LOOP_REMOVE_BUSY: RetryPolicy = definePolicy({
  name: "loop-remove-busy",
  attempts: 10,
  delayMs: 10,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EBUSY],
  reason: "a loop device just added is opened briefly by udev (blkid), and LOOP_CTL_REMOVE is EBUSY while it is open",
});
