import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { formatFlags, MS } from "../../src/plan/flags.ts";
import { optionTable } from "../../src/plan/option-table.ts";
import { hasUnbalancedQuote, splitOptionText } from "../../src/option-text.ts";
import { classifyOptions, dataSize, entryOptions, joinData, splitOptionString, tokenizeOptionArgs, tokenizeOptions } from "../../src/plan/options.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { LOOP_ENCRYPTION_HINT, LOOP_ENCRYPTION_UNSUPPORTED } from "../../src/plan/loop-encryption.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { MountStep } from "../../src/plan/steps.ts";
import type { FsContextStep } from "../../src/plan/fs-context-step.ts";

describe("tokenizeOptions (util-linux syntax)", () => {
  const cases: [string, string[]][] = [
    ["", []],
    ["ro", ["ro"]],
    ["a,b,c", ["a", "b", "c"]],
    ["a,,b,", ["a", "b"]],
    ['a,b="x,y",c', ["a", "b=x,y", "c"]],
    ['uidmap="0:1000:1,1:2000:1",gidmap="0:1000:1"', ["uidmap=0:1000:1,1:2000:1", "gidmap=0:1000:1"]],
    ['"quoted,whole"', ["quoted,whole"]],
    ["lowerdir=/a\\:b:/c", ["lowerdir=/a\\:b:/c"]],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => expect(tokenizeOptions(input)).toEqual(expected));
  }

  test("an unbalanced quote is a PlanError naming the input", () => {
    expect(() => tokenizeOptions('a,b="x,y')).toThrow(PlanError);
    expect(() => tokenizeOptions('a,b="x,y')).toThrow(/unbalanced double quote/);
  });

  test("repeated -o accumulates in order", () => {
    expect(tokenizeOptionArgs(["ro,nosuid", "size=1m", "rw"])).toEqual(["ro", "nosuid", "size=1m", "rw"]);
  });
});

describe("classifyOptions", () => {
  const flagCases: [string[], number][] = [
    [["ro"], MS.RDONLY],
    [["ro", "rw"], 0],
    [["rw", "ro"], MS.RDONLY],
    [["nosuid", "suid"], 0],
    [["nodev", "noexec", "nosuid"], MS.NODEV | MS.NOEXEC | MS.NOSUID],
    [["dev", "exec"], 0],
    [["sync"], MS.SYNCHRONOUS],
    [["sync", "async"], 0],
    [["dirsync"], MS.DIRSYNC],
    [["mand"], MS.MANDLOCK],
    [["mand", "nomand"], 0],
    [["bind"], MS.BIND],
    [["rbind"], MS.BIND | MS.REC],
    [["remount"], MS.REMOUNT],
    [["noatime"], MS.NOATIME],
    [["noatime", "atime"], 0],
    [["nodiratime", "diratime"], 0],
    [["relatime"], MS.RELATIME],
    [["relatime", "norelatime"], 0],
    [["strictatime"], MS.STRICTATIME],
    [["strictatime", "nostrictatime"], 0],
    // the atime modes exclude each other: last wins (the kernel would let noatime win)
    [["noatime", "relatime"], MS.RELATIME],
    [["relatime", "noatime"], MS.NOATIME],
    [["noatime", "strictatime"], MS.STRICTATIME],
    [["nosymfollow"], MS.NOSYMFOLLOW],
    [["nosymfollow", "symfollow"], 0],
    [["lazytime"], MS.LAZYTIME],
    [["lazytime", "nolazytime"], 0],
    [["silent"], MS.SILENT],
    [["silent", "loud"], 0],
    [["defaults"], 0],
  ];
  for (const [options, flags] of flagCases) {
    test(`${options.join(",")} -> flags ${flags}`, () => expect(classifyOptions(options).flags).toBe(flags));
  }

  test("defaults is not fs data (containerd passed it to the kernel)", () => {
    expect(classifyOptions(["defaults"]).data).toEqual([]);
  });

  test("anything unknown is fs data, in order", () => {
    const c = classifyOptions(["size=1m", "ro", "mode=0755", "nr_inodes=10"]);
    expect(c.data).toEqual(["size=1m", "mode=0755", "nr_inodes=10"]);
    expect(c.flags).toBe(MS.RDONLY);
  });

  test("propagation words become separate calls, in order, never flags", () => {
    const c = classifyOptions(["private", "rshared", "slave", "rslave", "unbindable", "runbindable", "rprivate", "shared"]);
    expect(c.flags).toBe(0);
    expect(c.propagation).toEqual([
      MS.PRIVATE,
      MS.SHARED | MS.REC,
      MS.SLAVE,
      MS.SLAVE | MS.REC,
      MS.UNBINDABLE,
      MS.UNBINDABLE | MS.REC,
      MS.PRIVATE | MS.REC,
      MS.SHARED,
    ]);
  });

  test("loop, uidmap= and gidmap= are features, not data", () => {
    const c = classifyOptions(["loop", "uidmap=0:1000:1,1:2000:1", "gidmap=0:1000:1"]);
    expect(c.loop).toBe(true);
    expect(c.uidmap).toBe("0:1000:1,1:2000:1");
    expect(c.gidmap).toBe("0:1000:1");
    expect(c.data).toEqual([]);
  });

  test("a flag name with a value is data; a valued option without one is data", () => {
    expect(classifyOptions(["ro=1", "uidmap"]).data).toEqual(["ro=1", "uidmap"]);
  });

  test("userspace words and x-* never reach the kernel", () => {
    const c = classifyOptions(["nofail", "noauto", "x-systemd.automount", "X-mount.mkdir=0755", "_netdev", "size=1m"]);
    expect(c.data).toEqual(["size=1m"]);
    expect(c.userspace).toEqual(["nofail", "noauto", "x-systemd.automount", "X-mount.mkdir=0755", "_netdev"]);
  });

  // mount(8) 2.38, compared in a namespace: user and users imply nosuid,nodev,noexec, owner and
  // group nosuid,nodev, where they stand; a later exec/suid/dev clears one again, nouser does not.
  const SECURE = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const impliedCases: [string[], number][] = [
    [["user"], SECURE],
    [["users"], SECURE],
    [["owner"], MS.NOSUID | MS.NODEV],
    [["group"], MS.NOSUID | MS.NODEV],
    [["user", "exec"], MS.NOSUID | MS.NODEV],
    [["exec", "user"], SECURE],
    [["users", "suid", "dev"], MS.NOEXEC],
    [["user", "nouser"], SECURE],
    [["user", "nousers"], SECURE],
    [["defaults", "user"], SECURE],
    [["user=alice"], 0],
    [["nouser", "nousers", "noowner", "nogroup"], 0],
    [["owner", "ro"], MS.NOSUID | MS.NODEV | MS.RDONLY],
  ];
  for (const [options, flags] of impliedCases) {
    test(`${options.join(",")} -> flags ${formatFlags(flags)} (what mount(8) makes)`, () => {
      const c = classifyOptions(options);
      expect(c.flags).toBe(flags);
      expect(c.data).toEqual([]);
    });
  }

  test("an implied flag counts as mentioned: a remount with user sets them, whatever the mount had", () => {
    expect(classifyOptions(["remount", "user"]).flagsMentioned & SECURE).toBe(SECURE);
  });

  test("libmount's userspace map never reaches the kernel; its words given a value do, as util-linux sends them", () => {
    const userspace = ["nousers", "noowner", "nogroup", "user=alice", "uhelper=udisks2", "helper=udisks2", "comment", "comment=x"];
    const c = classifyOptions([...userspace, "defaults=1", "size=1m", "nofail=1", "users=1", "owner=1"]);
    expect(c.userspace).toEqual(userspace);
    expect(c.data).toEqual(["size=1m", "nofail=1", "users=1", "owner=1"]);
    expect(c.flags).toBe(0);
  });

  test("dm-verity and loop encryption options are refused by name, not dropped (that would mount unprotected)", () => {
    for (const item of ["verity.roothash=abc", "verity.hashdevice=/dev/x", "encryption=aes"]) {
      expect(() => classifyOptions(["ro", item])).toThrow(PlanError);
      expect(() => classifyOptions([item])).toThrow(item);
    }
  });

  // containerd's mount manager turns these into a dm-verity device for an erofs layer
  // (core/mount/manager/dmverity_linux.go); as x-* words they were dropped, and the layer mounted unverified
  test("containerd's X-containerd.dmverity.* options are refused by name too, not dropped as X-* words", () => {
    const layer = { type: "erofs", source: "/layer.erofs", options: ["ro", "loop"] };
    const facts = factsForVersion("6.18.0");
    for (const item of ["X-containerd.dmverity.roothash=ab12", "X-containerd.dmverity.roothash-file=/s/.roothash", "X-containerd.dmverity.hash-offset=4096", "X-containerd.dmverity=auto", "X-containerd.dmverity"]) {
      expect(() => classifyOptions(["ro", item])).toThrow(PlanError);
      expect(() => planMount({ ...layer, options: [...layer.options, item] }, "/m", facts)).toThrow(/does not set up dm-verity/);
    }
    // containerd's other X-containerd.* options stay userspace words (its transforms take them out first)
    expect(classifyOptions(["X-containerd.mkdir.path=/a", "X-containerd.dmverityx=1"]).userspace).toEqual(["X-containerd.mkdir.path=/a", "X-containerd.dmverityx=1"]);
  });

  test("encryption= says why (cryptoloop is gone) and what to use, in the words loop attach -e uses too", () => {
    let err: unknown;
    try {
      classifyOptions(["loop", "encryption=aes"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).message).toBe(`parse options: encryption=aes: ${LOOP_ENCRYPTION_UNSUPPORTED}`);
    expect((err as PlanError).hint).toBe(LOOP_ENCRYPTION_HINT);
    expect(LOOP_ENCRYPTION_UNSUPPORTED).toContain("cryptoloop was removed from Linux");
    expect(LOOP_ENCRYPTION_HINT).toContain("cryptsetup");
  });

  test("flagsMentioned records what the options set or cleared, the whole atime group for any atime word", () => {
    const c = classifyOptions(["rw", "nosuid", "norelatime"]);
    expect(c.flagsMentioned & MS.RDONLY).toBe(MS.RDONLY);
    expect(c.flagsMentioned & MS.NOSUID).toBe(MS.NOSUID);
    expect(c.flagsMentioned & MS.NOATIME).toBe(MS.NOATIME);
    expect(c.flagsMentioned & MS.NODEV).toBe(0);
  });

  test("does not mutate the caller's array", () => {
    const input = Object.freeze(["ro", "size=1m", "shared"]);
    classifyOptions(input);
    expect(input).toEqual(["ro", "size=1m", "shared"]);
  });
});

describe("the option table", () => {
  test("holds every containerd option and each name once (as a word, and once as name=value)", () => {
    const containerd = "async atime bind defaults dev diratime dirsync exec mand noatime nodev nodiratime noexec nomand norelatime nostrictatime nosuid rbind relatime remount ro rw strictatime suid sync".split(" ");
    const names = optionTable().map((o) => o.name);
    for (const name of containerd) expect(names).toContain(name);
    const forms = optionTable().map((o) => (o.valued ? `${o.name}=` : o.name));
    expect(new Set(forms).size).toBe(forms.length);
  });

  test("loop is a word, and loop=/dev/loopN names the device", () => {
    expect(classifyOptions(["loop"])).toMatchObject({ loop: true, loopDevice: undefined, data: [] });
    expect(classifyOptions(["loop=/dev/loop5", "ro"])).toMatchObject({ loop: true, loopDevice: "/dev/loop5", data: [] });
    expect(classifyOptions(["size=1m"])).toMatchObject({ loop: false, loopDevice: undefined });
  });
});

describe("joinData and dataSize", () => {
  test("joins with commas and re-quotes a value holding a comma", () => {
    expect(joinData(["size=1m", "mode=0755"])).toBe("size=1m,mode=0755");
    expect(joinData(['context=system_u:object_r:tmp_t:s0:c1,c2'])).toBe('context="system_u:object_r:tmp_t:s0:c1,c2"');
  });
  test("counts UTF-8 bytes and the NUL", () => {
    expect(dataSize("")).toBe(1);
    expect(dataSize("abc")).toBe(4);
    expect(dataSize("é")).toBe(3);
  });
});

describe("Mount.options entries, as containerd joins them (library, apply, CLI, fstab)", () => {
  const CONTEXT = 'context="system_u:object_r:container_file_t:s0:c1,c2"';

  test("splitOptionString splits on commas outside quotes and keeps the quotes: splitting again changes nothing", () => {
    expect(splitOptionString(`a,${CONTEXT},,b`)).toEqual(["a", CONTEXT, "b"]);
    for (const item of splitOptionString(`a,${CONTEXT},b`)) expect(splitOptionString(item)).toEqual([item]);
    expect(() => splitOptionString('a,b="x')).toThrow(/unbalanced double quote/);
  });

  test("the kernel's tables split the same way, taken as they are: an unbalanced quote runs to the end", () => {
    expect(splitOptionText(`rw,${CONTEXT},,relatime`)).toEqual(["rw", CONTEXT, "relatime"]);
    expect(splitOptionText('rw,b="x,y')).toEqual(["rw", 'b="x,y']);
    expect(hasUnbalancedQuote('a="x,y",b')).toBe(false);
    expect(hasUnbalancedQuote('a="x,y",b="')).toBe(true);
  });

  test("a comma after a backslash does not split (overlay's escape), the backslash kept; an escaped backslash does not escape the comma", () => {
    expect(splitOptionText(String.raw`lowerdir=/a\,b:/c,upperdir=/u\,1,ro`)).toEqual([String.raw`lowerdir=/a\,b:/c`, String.raw`upperdir=/u\,1`, "ro"]);
    expect(splitOptionText(String.raw`lowerdir=/a\\,ro`)).toEqual([String.raw`lowerdir=/a\\`, "ro"]);
    expect(splitOptionText(String.raw`lowerdir=/a\\\,b,ro`)).toEqual([String.raw`lowerdir=/a\\\,b`, "ro"]);
    expect(splitOptionText(String.raw`lowerdir=/a\:b,ro`)).toEqual([String.raw`lowerdir=/a\:b`, "ro"]);
    expect(tokenizeOptions(String.raw`lowerdir=/a\,b,ro`)).toEqual([String.raw`lowerdir=/a\,b`, "ro"]);
  });

  test("an entry with a bare comma is several options; quotes in one are kept; containerd's uidmap= and overlay paths are read whole", () => {
    expect(entryOptions("size=1m,mode=700")).toEqual(["size=1m", "mode=700"]);
    expect(entryOptions(`ro,${CONTEXT}`)).toEqual(["ro", CONTEXT]);
    expect(entryOptions("uidmap=0:1000:1,1:2000:1")).toEqual(["uidmap=0:1000:1,1:2000:1"]);
    expect(entryOptions("X-mount.idmap=u:0:1:1,g:0:1:1")).toEqual(["X-mount.idmap=u:0:1:1,g:0:1:1"]);
    expect(entryOptions("upperdir=/u,x")).toEqual(["upperdir=/u,x"]);
  });

  test("an unbalanced quote in an entry is refused, with a comma or without (unquoted, `size=\"1m` was mounted as size=1m)", () => {
    for (const entry of ['size="1m', 'size=1m"', '"size=1m', 'mode=700,size="1m']) {
      expect(() => entryOptions(entry)).toThrow(/unbalanced double quote/);
      expect(() => classifyOptions([entry])).toThrow(PlanError);
    }
    expect(entryOptions('size="1m"')).toEqual(['size="1m"']);
  });

  // containerd joins a Mount's options with "," and the kernel splits them again, so an entry
  // packing several overlay options is several (containerd's TestFUSEHelper and TestMountReadOnly
  // pack "lowerdir=...,upperdir=...,workdir=..."). A layer path keeps a comma that no option follows.
  test("an overlay layer entry ends at a comma another option follows (containerd's packed entries); other commas stay in the path", () => {
    expect(entryOptions("lowerdir=/l2:/l1,upperdir=/u,workdir=/w")).toEqual(["lowerdir=/l2:/l1", "upperdir=/u", "workdir=/w"]);
    expect(entryOptions("lowerdir=/lower,upperdir=/upper,ro")).toEqual(["lowerdir=/lower", "upperdir=/upper", "ro"]);
    expect(entryOptions("lowerdir=/a,b:/c,d,upperdir=/u,x,index=off,volatile")).toEqual(["lowerdir=/a,b:/c,d", "upperdir=/u,x", "index=off", "volatile"]);
    expect(entryOptions("lowerdir+=/a,lowerdir+=/b,datadir+=/d,userxattr,metacopy=on,redirect_dir=follow")).toEqual([
      "lowerdir+=/a", "lowerdir+=/b", "datadir+=/d", "userxattr", "metacopy=on", "redirect_dir=follow",
    ]);
    // containerd's uidmap= keeps its own commas, then the next option starts
    expect(entryOptions("lowerdir=/l,uidmap=0:1000:1,1:2000:1,gidmap=0:1000:1,nosuid")).toEqual(["lowerdir=/l", "uidmap=0:1000:1,1:2000:1", "gidmap=0:1000:1", "nosuid"]);
    // an escaped comma never ends the path, whatever follows it; an escaped backslash escapes no comma
    expect(entryOptions(String.raw`lowerdir=/a\,ro,upperdir=/u`)).toEqual([String.raw`lowerdir=/a\,ro`, "upperdir=/u"]);
    expect(entryOptions(String.raw`upperdir=/u\,ro`)).toEqual([String.raw`upperdir=/u\,ro`]);
    expect(entryOptions(String.raw`lowerdir=/a\\,ro`)).toEqual([String.raw`lowerdir=/a\\`, "ro"]);
    // an empty piece stays in the path, as the whole entry was read before
    expect(entryOptions("upperdir=/u,,x")).toEqual(["upperdir=/u,,x"]);
    expect(entryOptions(`lowerdir=/l,${CONTEXT}`)).toEqual(["lowerdir=/l", CONTEXT]);
  });

  test("classified: several options from one entry; a quoted value unquoted once (fsconfig takes it so), quoted once again for mount(2)", () => {
    const c = classifyOptions(["size=1m,mode=700,ro", CONTEXT]);
    expect(c.flags).toBe(MS.RDONLY);
    expect(c.data).toEqual(["size=1m", "mode=700", "context=system_u:object_r:container_file_t:s0:c1,c2"]);
    expect(joinData(c.data)).toBe(`size=1m,mode=700,${CONTEXT}`);
  });

  test("the CLI's quoted uidmap= and the library's bare one are the same option", () => {
    for (const entry of ['uidmap="0:1000:1,1:2000:1"', "uidmap=0:1000:1,1:2000:1"]) {
      expect(classifyOptions([entry, "gidmap=0:1000:1"])).toMatchObject({ uidmap: "0:1000:1,1:2000:1", gidmap: "0:1000:1", data: [] });
    }
  });

  test("joinData quotes an unquoted comma value once and leaves a caller's quotes alone", () => {
    expect(joinData(["context=a,b"])).toBe('context="a,b"');
    expect(joinData(['context="a,b"'])).toBe('context="a,b"');
  });

  test("planned: mount(2) gets size=1m,mode=700 and the context quoted once; the fd strategy's overlay gets the value without quotes", () => {
    const facts = factsForVersion("6.18.0", { strategy: "fd" });
    const tmpfs = planMount({ type: "tmpfs", source: "x", options: ["size=1m,mode=700", CONTEXT] }, "/mnt/x", facts).steps[0] as MountStep;
    expect(tmpfs.data).toBe(`size=1m,mode=700,${CONTEXT}`);
    const overlay = planMount({ type: "overlay", source: "overlay", options: ["lowerdir=/l", `index=off,${CONTEXT}`] }, "/m", facts).steps[0] as FsContextStep;
    expect(overlay.params).toContainEqual({ kind: "string", key: "context", value: "system_u:object_r:container_file_t:s0:c1,c2" });
    expect(overlay.params).toContainEqual({ kind: "string", key: "index", value: "off" });
    const legacy = factsForVersion("6.18.0", { strategy: "legacy" });
    const old = planMount({ type: "overlay", source: "overlay", options: ["lowerdir=/l", CONTEXT] }, "/m", legacy).steps[0] as MountStep;
    expect(old.data).toBe(`lowerdir=/l,${CONTEXT}`);
  });

  test("the caller's entries are not changed", () => {
    const entries = Object.freeze(["size=1m,mode=700", CONTEXT]);
    classifyOptions(entries);
    expect(entries).toEqual(["size=1m,mode=700", CONTEXT]);
  });
});
