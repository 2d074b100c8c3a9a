// An idmapped new filesystem as one mount: mount(2)'s call said through the fd API. Pure.
import { describe, expect, test } from "bun:test";
import { MS } from "../../src/plan/flags.ts";
import { dataParams, fitsFsContext, idmappedNewMount } from "../../src/plan/idmapped-new-mount.ts";
import { MOUNT_ATTR } from "../../src/plan/mount-api-flags.ts";

describe("mount(2)'s data as fsconfig parameters", () => {
  test.each([
    [null, []],
    ["", []],
    ["size=1m", [{ kind: "string", key: "size", value: "1m" }]],
    ["noacl", [{ kind: "flag", key: "noacl" }]],
    ["a=1,,b,c=", [{ kind: "string", key: "a", value: "1" }, { kind: "flag", key: "b" }, { kind: "string", key: "c", value: "" }]],
    ["x=a=b", [{ kind: "string", key: "x", value: "a=b" }]],
    // util-linux's quoting: the comma stays in the value, the quotes go (the kernel drops them from mount(2)'s string)
    ['context="system_u:object_r:t:s0:c1,c2",ro', [{ kind: "string", key: "context", value: "system_u:object_r:t:s0:c1,c2" }, { kind: "flag", key: "ro" }]],
  ] as const)("%p", (data, params) => {
    expect(dataParams(data)).toEqual(params as never);
  });

  test("an unbalanced quote: refused by the split, so the call stays a mount(2) with the string as it is", () => {
    expect(() => dataParams('a="x,y')).toThrow(/unbalanced double quote/);
    expect(fitsFsContext(0, 'a="x,y')).toBe(false);
  });
});

describe("the fs-context step of a mount(2) call", () => {
  test("source, data in order, superblock flags as fsconfig flags, per-mount flags as fsmount attributes, the idmap slot", () => {
    const step = idmappedNewMount(
      { source: "/dev/loop3", target: "/m", fstype: "ext4", flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOATIME | MS.SYNCHRONOUS | MS.SILENT, data: "errors=remount-ro,noacl" },
      "ns",
    );
    expect(step).toEqual({
      op: "fs-context",
      fstype: "ext4",
      params: [
        { kind: "string", key: "source", value: "/dev/loop3" },
        { kind: "string", key: "errors", value: "remount-ro" },
        { kind: "flag", key: "noacl" },
        { kind: "flag", key: "ro" },
        { kind: "flag", key: "sync" },
      ],
      attrFlags: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOATIME,
      target: "/m",
      undoable: false,
      idmap: "ns",
    });
  });

  test("no source: no source parameter", () => {
    expect(idmappedNewMount({ source: null, target: "/m", fstype: "tmpfs", flags: 0, data: null }, "ns").params).toEqual([]);
  });

  test("what fits: flags with an fd API equivalent, values and a source of at most 255 bytes", () => {
    expect(fitsFsContext(MS.RDONLY | MS.NOSUID | MS.RELATIME | MS.LAZYTIME | MS.DIRSYNC | MS.NOSYMFOLLOW, "a=1")).toBe(true);
    expect(fitsFsContext(MS.I_VERSION, null)).toBe(false);
    expect(fitsFsContext(0, `a=${"é".repeat(127)}x`)).toBe(true); // 255 bytes
    expect(fitsFsContext(0, `a=${"é".repeat(128)}`)).toBe(false); // 256 bytes
    expect(fitsFsContext(0, null, `${"é".repeat(127)}x`)).toBe(true); // a source of 255 bytes
    expect(fitsFsContext(0, null, "é".repeat(128))).toBe(false);
  });
});
