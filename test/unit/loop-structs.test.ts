// The hand-made struct layouts of sys/loop.ts against <linux/loop.h>, compiled with cc.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BLOCK_IOCTL,
  decodeLoopInfo64,
  encodeLoopConfig,
  LO_FLAGS,
  LOOP_CONFIG_OFFSET,
  LOOP_CONFIG_SIZE,
  LOOP_INFO64_OFFSET,
  LOOP_INFO64_SIZE,
  LOOP_IOCTL,
} from "../../src/sys/loop.ts";

const PROGRAM = `
#include <stdio.h>
#include <stddef.h>
#include <linux/loop.h>
#include <linux/fs.h>
#define I(f) printf("info.%s %zu\\n", #f, offsetof(struct loop_info64, lo_##f))
int main(void) {
  printf("sizeof.loop_info64 %zu\\nsizeof.loop_config %zu\\n", sizeof(struct loop_info64), sizeof(struct loop_config));
  I(device); I(inode); I(rdevice); I(offset); I(sizelimit); I(number); I(encrypt_type);
  I(encrypt_key_size); I(flags); I(file_name); I(crypt_name); I(encrypt_key); I(init);
  printf("config.fd %zu\\nconfig.block_size %zu\\nconfig.info %zu\\nconfig.reserved %zu\\n",
    offsetof(struct loop_config, fd), offsetof(struct loop_config, block_size),
    offsetof(struct loop_config, info), offsetof(struct loop_config, __reserved));
  printf("ioctl.SET_FD %d\\nioctl.CLR_FD %d\\nioctl.SET_STATUS64 %d\\nioctl.GET_STATUS64 %d\\n", LOOP_SET_FD, LOOP_CLR_FD, LOOP_SET_STATUS64, LOOP_GET_STATUS64);
  printf("ioctl.SET_DIRECT_IO %d\\nioctl.SET_BLOCK_SIZE %d\\nioctl.CONFIGURE %d\\nioctl.CTL_ADD %d\\nioctl.CTL_REMOVE %d\\nioctl.CTL_GET_FREE %d\\n", LOOP_SET_DIRECT_IO, LOOP_SET_BLOCK_SIZE, LOOP_CONFIGURE, LOOP_CTL_ADD, LOOP_CTL_REMOVE, LOOP_CTL_GET_FREE);
  printf("ioctl.SET_CAPACITY %d\\nblock.SSZGET %lu\\nblock.GETSIZE64 %lu\\n", LOOP_SET_CAPACITY, (unsigned long)BLKSSZGET, (unsigned long)BLKGETSIZE64);
  printf("flags.READ_ONLY %d\\nflags.AUTOCLEAR %d\\nflags.PARTSCAN %d\\nflags.DIRECT_IO %d\\n", LO_FLAGS_READ_ONLY, LO_FLAGS_AUTOCLEAR, LO_FLAGS_PARTSCAN, LO_FLAGS_DIRECT_IO);
  return 0;
}
`;

/** What the C compiler says, as "group.name" -> number. */
function fromC(): Map<string, number> {
  const dir = mkdtempSync(join(tmpdir(), "mountkit-loop-structs-"));
  try {
    writeFileSync(join(dir, "layout.c"), PROGRAM);
    const cc = Bun.spawnSync(["cc", "-o", join(dir, "layout"), join(dir, "layout.c")]);
    if (cc.exitCode !== 0) throw new Error(`cc failed (the layout test needs a C compiler and linux headers): ${cc.stderr.toString()}`);
    const run = Bun.spawnSync([join(dir, "layout")]);
    return new Map(run.stdout.toString().trim().split("\n").map((line) => {
      const [key, value] = line.split(" ");
      return [key!, Number(value)] as const;
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("loop_info64 is 232 bytes and loop_config 304, every offset as in <linux/loop.h>; the ioctl numbers as in it and <linux/fs.h>", () => {
  const c = fromC();
  expect(LOOP_INFO64_SIZE).toBe(232);
  expect(LOOP_CONFIG_SIZE).toBe(304);
  expect(c.get("sizeof.loop_info64")).toBe(LOOP_INFO64_SIZE);
  expect(c.get("sizeof.loop_config")).toBe(LOOP_CONFIG_SIZE);
  const snake = (name: string) => name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
  for (const [field, offset] of Object.entries(LOOP_INFO64_OFFSET)) expect([field, c.get(`info.${snake(field)}`)]).toEqual([field, offset]);
  for (const [field, offset] of Object.entries(LOOP_CONFIG_OFFSET)) expect([field, c.get(`config.${snake(field)}`)]).toEqual([field, offset]);
  for (const [name, value] of Object.entries(LOOP_IOCTL)) expect([name, c.get(`ioctl.${name}`)]).toEqual([name, value]);
  for (const [name, value] of Object.entries(LO_FLAGS)) expect([name, c.get(`flags.${name}`)]).toEqual([name, value]);
  for (const [name, value] of Object.entries(BLOCK_IOCTL)) expect([name, c.get(`block.${name}`)]).toEqual([name, value]);
});

test("a loop_config encodes and its info decodes back; the file name keeps its NUL", () => {
  const bytes = encodeLoopConfig(7, 4096, { offset: 2 ** 40, sizeLimit: 12345, flags: LO_FLAGS.AUTOCLEAR, fileName: "x".repeat(80) });
  expect(bytes.byteLength).toBe(304);
  const view = new DataView(bytes.buffer);
  expect([view.getUint32(0, true), view.getUint32(4, true)]).toEqual([7, 4096]);
  const info = decodeLoopInfo64(view, LOOP_CONFIG_OFFSET.info);
  expect(info).toMatchObject({ offset: 2 ** 40, sizeLimit: 12345, flags: LO_FLAGS.AUTOCLEAR, fileName: "x".repeat(63) });
  expect(bytes[LOOP_CONFIG_OFFSET.info + LOOP_INFO64_OFFSET.fileName + 63]).toBe(0);
});
