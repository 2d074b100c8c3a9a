/**
 * Another process holding a free loop device open exclusively (O_EXCL) without attaching it
 * (fixtures/hold-free-loop-exclusive.ts): the device LOOP_CTL_GET_FREE gives, which the kernel
 * cannot bind while it is held (EBUSY). release() kills the holder and waits for it; its death
 * leaves the device as free as it was.
 */
import { join } from "node:path";

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
