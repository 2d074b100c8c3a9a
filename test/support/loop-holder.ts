/**
 * Another process holding a free loop device open exclusively (O_EXCL) without attaching it
 * (fixtures/hold-free-loop-exclusive.ts): the device LOOP_CTL_GET_FREE gives, which the kernel
 * cannot bind while it is held (EBUSY). release() kills the holder and waits for it; its death
 * leaves the device as free as it was. And a free device besides it, for the cases that need one.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { isErrno } from "../../src/errors.ts";
import { O } from "../../src/sys/fd.ts";
import { LOOP_CONTROL_PATH } from "../../src/sys/loop.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";

const FIXTURE = join(import.meta.dir, "fixtures/hold-free-loop-exclusive.ts");

export interface HeldLoopDevice {
  /** "/dev/loopN" */
  readonly device: string;
  release(): Promise<void>;
}

/** A holder of the free device, for at most seconds (the fixture lets go by itself then). */
export async function holdFreeLoopDevice(seconds = 30): Promise<HeldLoopDevice> {
  const holder = Bun.spawn([process.execPath, FIXTURE, String(seconds)], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const release = async () => {
    holder.kill();
    await holder.exited;
  };
  try {
    return { device: await firstLine(holder.stdout), release };
  } catch (err) {
    await release();
    throw err;
  }
}

/** The first line a child prints, without its newline. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child ended before a line: ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf("\n"));
}

/** use(device) while another process holds the free device; the holder released (and dead) after, whatever use did. */
export async function whileFreeDeviceHeld<T>(use: (device: string) => T | Promise<T>): Promise<T> {
  const holder = await holdFreeLoopDevice();
  try {
    return await use(holder.device);
  } finally {
    await holder.release();
  }
}

/** The loop devices /dev lists that sysfs shows attached to no file ("/dev/loopN"), in number order. */
export function unattachedLoopDevicesListed(): string[] {
  return readdirSync("/dev")
    .filter((name) => /^loop\d+$/.test(name) && existsSync(`/sys/block/${name}`) && !existsSync(`/sys/block/${name}/loop/backing_file`))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((name) => `/dev/${name}`);
}

/**
 * For a case that needs a free loop device besides held (one /dev lists, attached to nothing): a
 * machine that makes loop devices only as LOOP_CTL_GET_FREE asks for them (max_loop=0) may have
 * none but held. Then one is added (LOOP_CTL_ADD, under a number no device has). The undo
 * returned removes the one added, unless something attached or opened it meanwhile.
 */
export function ensureAnotherFreeLoopDevice(held: string, listed: readonly string[] = unattachedLoopDevicesListed()): () => void {
  if (listed.some((device) => device !== held)) return () => {};
  const taken = new Set([...readdirSync("/sys/block"), ...readdirSync("/dev")].filter((name) => /^loop\d+$/.test(name)).map((name) => Number(name.slice(4))));
  const control = libcSyscalls.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
  let added: number | undefined;
  try {
    for (let n = 0; added === undefined; n++) {
      if (taken.has(n)) continue;
      try {
        added = libcSyscalls.loopCtlAdd(control, n);
      } catch (err) {
        if (!isErrno(err, Errno.EEXIST)) throw err; // another process added that number meanwhile
      }
    }
  } finally {
    libcSyscalls.close(control);
  }
  const number = added;
  return () => {
    if (existsSync(`/sys/block/loop${number}/loop/backing_file`)) return;
    const control = libcSyscalls.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
    try {
      libcSyscalls.loopCtlRemove(control, number);
    } catch (err) {
      if (!isErrno(err, Errno.EBUSY)) throw err; // opened by another process: left, as a free device
    } finally {
      libcSyscalls.close(control);
    }
  };
}
