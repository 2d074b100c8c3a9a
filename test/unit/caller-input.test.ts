// The library's calls given what a careless or hostile JavaScript caller passes: each is a
// PlanError (exit 1) naming the field and the value, raised before any syscall (every call
// below goes through a seam that fails the test if it is called), never a TypeError from
// deep inside, a NUL cut by C, a number wrapped in a u64, or a retry that never ends.
import { describe, expect, test } from "bun:test";
import {
  attachLoop,
  detachLoop,
  enterMountNamespace,
  entriesFromMounts,
  exitCodeFor,
  findmntJson,
  findmntTable,
  idmapMount,
  joinUnderRoot,
  lookupMount,
  mount,
  mountAll,
  mountMakingTarget,
  parentsFilter,
  parseIdMappings,
  parseMountInfo,
  planApply,
  applyText,
  classifyOptions,
  entryOptions,
  joinData,
  splitOptionString,
  tokenizeOptionArgs,
  tokenizeOptions,
  unquoteOption,
  planMount,
  planOnly,
  prefixFilter,
  readMountInfo,
  readOnly,
  readonlyMounts,
  readonlyOverlayOptions,
  removeVolatileOption,
  resolveInRoot,
  retrySync,
  rootPath,
  setLoopCapacity,
  setTempMountLocation,
  umountOperand,
  unmount,
  unmountAll,
  unmountMounts,
  unmountRecursive,
  unmountSubtree,
  withPolicy,
  withDirThread,
  withTempMount,
  PlanError,
  UNMOUNT_BUSY,
  type Mount,
  type Syscalls,
  type StopRequests,
} from "../../src/index.ts";
import { definePolicy } from "../../src/ops/retry.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { planIdmapMount } from "../../src/plan/idmap.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");

/** A seam that fails the test at its first call: the checks below come before any. */
const noSyscalls = new Proxy({} as Syscalls, {
  get: (_, name) => () => {
    throw new Error(`syscall ${String(name)} made for bad input`);
  },
});
const options = { sys: noSyscalls, facts };

/** What fn threw, checked to be the bad input's PlanError (exit 1) with message. */
function refused(fn: () => unknown, message: string | RegExp): void {
  const err = caught(fn);
  expect(err).toBeInstanceOf(PlanError);
  expect((err as PlanError).kind).toBe("plan");
  expect(exitCodeFor(err)).toBe(1);
  if (typeof message === "string") expect((err as PlanError).message).toBe(message);
  else expect((err as PlanError).message).toMatch(message);
}

const ok: Mount = { type: "tmpfs", source: "tmpfs", options: ["size=1m"] };

// [what is wrong, the Mount, the message after "<action>: "]
const BAD_MOUNTS: [string, unknown, string][] = [
  ["no Mount", undefined, "expected a Mount {type, source, options}, got undefined"],
  ["null", null, "expected a Mount {type, source, options}, got null"],
  ["a string", "tmpfs", 'expected a Mount {type, source, options}, got "tmpfs"'],
  ["a list", [ok], "expected a Mount {type, source, options}, got a list"],
  ["no type", { source: "s", options: [] }, "type must be a string, got undefined"],
  ["a number type", { type: 5, source: "s", options: [] }, "type must be a string, got 5"],
  ["an object type", { type: { toString: () => "tmpfs" }, source: "s", options: [] }, "type must be a string, got an object"],
  ["a NUL in the type", { type: "tmp\0fs", source: "s", options: [] }, 'invalid filesystem type "tmp\\u0000fs"'],
  ["no source", { type: "tmpfs", options: [] }, "source must be a string, got undefined"],
  ["a null source", { type: "tmpfs", source: null, options: [] }, "source must be a string, got null"],
  ["a number source", { type: "tmpfs", source: 7, options: [] }, "source must be a string, got 7"],
  ["a NUL in the source", { type: "tmpfs", source: "tm\0pfs", options: [] }, 'source "tm\\u0000pfs" contains a NUL byte'],
  ["no options", { type: "tmpfs", source: "s" }, "options must be a list of strings, got undefined"],
  ["null options", { type: "tmpfs", source: "s", options: null }, "options must be a list of strings, got null"],
  // iterated, a string's characters were options: "r", "o", ...
  ["options as one string", { type: "tmpfs", source: "s", options: "size=1m,ro" }, 'options must be a list of strings, got "size=1m,ro"'],
  ["options an array-like", { type: "tmpfs", source: "s", options: { 0: "ro", length: 1 } }, "options must be a list of strings, got an object"],
  ["a hole in the options", { type: "tmpfs", source: "s", options: [, "ro"] }, "options[0] must be a string, got undefined"],
  ["a number option", { type: "tmpfs", source: "s", options: ["ro", 5] }, "options[1] must be a string, got 5"],
  ["a null option", { type: "tmpfs", source: "s", options: [null] }, "options[0] must be a string, got null"],
  ["an object option", { type: "tmpfs", source: "s", options: [{}] }, "options[0] must be a string, got an object"],
  ["a NUL in an option", { type: "tmpfs", source: "s", options: ["size=1m\0,nr_inodes=1"] }, 'option "size=1m\\u0000,nr_inodes=1" contains a NUL byte'],
  ["a null target", { type: "tmpfs", source: "s", target: null, options: [] }, "target must be a string, got null"],
  ["a number target", { type: "tmpfs", source: "s", target: 5, options: [] }, "target must be a string, got 5"],
  ["a NUL in the target", { type: "tmpfs", source: "s", target: "a\0b", options: [] }, 'target "a\\u0000b" contains a NUL byte'],
];

describe("a Mount that is not one", () => {
  test.each(BAD_MOUNTS)("%s: planMount, mount, planOnly, mountMakingTarget refuse it", (_, m, message) => {
    refused(() => planMount(m as Mount, "/mnt/x", facts), `mount: ${message}`);
    refused(() => mount(m as Mount, "/mnt/x", options), `mount: ${message}`);
    refused(() => planOnly(m as Mount, "/mnt/x", options), `mount: ${message}`);
    refused(() => mountMakingTarget(m as Mount, "/mnt/x", options), `mount: ${message}`);
  });

  test.each(BAD_MOUNTS)("%s: in a list, the entry is named (mountAll, withTempMount, entriesFromMounts)", async (_, m, message) => {
    refused(() => mountAll([ok, m as Mount], "/r", options), `mount all: entry 2: ${message}`);
    refused(() => entriesFromMounts([m as Mount]), `mount all: entry 1: ${message}`);
    await expect(withTempMount([m as Mount], () => "ran", options)).rejects.toThrow(`temp mount: entry 1: ${message}`);
  });

  test("a list that is no list: mountAll, withTempMount, readonlyMounts, removeVolatileOption, unmountMounts", async () => {
    for (const list of [undefined, null, "tmpfs", { length: 1, 0: ok }]) {
      refused(() => mountAll(list as unknown as Mount[], "/r", options), /^mount all: expected a list of Mounts, got /);
      refused(() => readonlyMounts(list as unknown as Mount[]), /^read-only mounts: expected a list of Mounts, got /);
      refused(() => removeVolatileOption(list as unknown as Mount[]), /^remove volatile option: expected a list of Mounts, got /);
      // a string's characters were Mounts without a target: the root itself was unmounted
      refused(() => unmountMounts(list as unknown as Mount[], "/r", options), /^unmount mounts: expected a list of Mounts, got /);
      await expect(withTempMount(list as unknown as Mount[], () => "ran", options)).rejects.toThrow(/^temp mount: expected a list of Mounts, got /);
    }
    refused(() => unmountMounts([5 as unknown as Mount], "/r", options), "unmount mounts: entry 1: expected a Mount {type, source, target, options}, got 5");
    refused(() => unmountMounts([{ ...ok, target: "/a\0b" }], "/r", options), 'unmount mounts: entry 1: target "/a\\u0000b" contains a NUL byte');
  });

  test("the helpers that read a Mount's type and options: readOnly, readonlyMounts, removeVolatileOption, readonlyOverlayOptions", () => {
    refused(() => readOnly({ type: "overlay", source: "o" } as unknown as Mount), "read-only: options must be a list of strings, got undefined");
    refused(() => readonlyMounts([{ type: "overlay", source: "o", options: ["lowerdir=/a", 5] } as unknown as Mount]), "read-only mounts: entry 1: options[1] must be a string, got 5");
    refused(() => removeVolatileOption([{ source: "o", options: ["volatile"] } as unknown as Mount]), "remove volatile option: entry 1: type must be a string, got undefined");
    refused(() => readonlyOverlayOptions("upperdir=/u" as unknown as string[]), 'read-only overlay options: options must be a list of strings, got "upperdir=/u"');
    // what they do not read they copy: no source is no error there, nor an unknown field
    const odd = { type: "overlay", options: ["volatile", "lowerdir=/a"], extra: 1 } as unknown as Mount;
    expect(removeVolatileOption([odd])).toEqual([{ type: "overlay", options: ["lowerdir=/a"], extra: 1 } as unknown as Mount]);
  });

  test("frozen Mounts and Mounts with fields of their own are taken as they are, and never written", () => {
    const frozen = Object.freeze({ type: "tmpfs", source: "tmpfs", options: Object.freeze(["size=1m", "nosuid"]), note: "mine" });
    expect(planMount(frozen, "/mnt/x", facts).steps).toHaveLength(1);
    expect(entriesFromMounts([frozen])[0]!.mount.options).toEqual(["size=1m", "nosuid"]);
    expect(readonlyMounts([frozen])[0]!.options).toEqual(["size=1m", "nosuid", "ro"]);
  });

  test("the mount target argument: a string holding no NUL", () => {
    for (const [target, message] of [
      [undefined, "mount: target must be a string, got undefined"],
      [5, "mount: target must be a string, got 5"],
      ["/mnt/x\0y", 'mount: target "/mnt/x\\u0000y" contains a NUL byte'],
    ] as const) {
      refused(() => planMount(ok, target as unknown as string, facts), message);
      refused(() => mount(ok, target as unknown as string, options), message);
      refused(() => mountMakingTarget(ok, target as unknown as string, options), message);
    }
  });

  test("planMount without the kernel's facts", () => {
    refused(() => planMount(ok, "/mnt/x", undefined as unknown as typeof facts), "mount: facts must be the kernel's facts (kernelFacts()), got undefined");
  });
});

describe("the option helpers, given what is no option text", () => {
  // [what is wrong, the value, how shownValue names it]
  const notStrings: [string, unknown, string][] = [
    ["a number", 5, "5"],
    ["undefined", undefined, "undefined"],
    ["null", null, "null"],
    ["an object", { toString: () => "ro" }, "an object"],
    ["a list", ["ro"], "a list"],
  ];

  test.each(notStrings)("%s where one option string belongs: splitOptionString, tokenizeOptions, entryOptions, unquoteOption", (_, value, shown) => {
    refused(() => splitOptionString(value as string), `parse options: option text must be a string, got ${shown}`);
    refused(() => tokenizeOptions(value as string), `parse options: option text must be a string, got ${shown}`);
    refused(() => entryOptions(value as string), `parse options: entry must be a string, got ${shown}`);
    refused(() => unquoteOption(value as string), `unquote option: option must be a string, got ${shown}`);
  });

  test.each(notStrings.filter(([what]) => what !== "a list"))("%s as a list, or in one: classifyOptions, tokenizeOptionArgs, joinData", (_, value, shown) => {
    refused(() => classifyOptions(value as string[]), `parse options: options must be a list of strings, got ${shown}`);
    refused(() => classifyOptions(["ro", value] as string[]), `parse options: options[1] must be a string, got ${shown}`);
    refused(() => tokenizeOptionArgs(value as string[]), `parse options: option texts must be a list of strings, got ${shown}`);
    refused(() => tokenizeOptionArgs(["ro", value] as string[]), `parse options: option texts[1] must be a string, got ${shown}`);
    refused(() => joinData(value as string[]), `join data: items must be a list of strings, got ${shown}`);
    refused(() => joinData(["size=1m", value] as string[]), `join data: items[1] must be a string, got ${shown}`);
  });

  test("a string where a list belongs is refused, not read a character at a time; a hole is no string", () => {
    // iterated, "ro" was the fs data "r" and "o"
    refused(() => classifyOptions("ro" as unknown as string[]), 'parse options: options must be a list of strings, got "ro"');
    refused(() => tokenizeOptionArgs("ro,nosuid" as unknown as string[]), 'parse options: option texts must be a list of strings, got "ro,nosuid"');
    refused(() => joinData("size=1m" as unknown as string[]), 'join data: items must be a list of strings, got "size=1m"');
    refused(() => classifyOptions([, "ro"] as string[]), "parse options: options[0] must be a string, got undefined");
    refused(() => joinData(["a", , "b"] as string[]), "join data: items[1] must be a string, got undefined");
    // and the strings they are given still read as before
    expect(classifyOptions(["ro", "size=1m,mode=700"]).data).toEqual(["size=1m", "mode=700"]);
    expect(joinData(["size=1m", "context=a,b"])).toBe('size=1m,context="a,b"');
  });
});

describe("paths given to the unmount family, loop devices and lookups", () => {
  // [call, message] for a target that is no path
  const unmounts: [string, (target: unknown) => unknown][] = [
    ["unmount", (t) => unmount(t as string, options)],
    ["unmountAll", (t) => unmountAll(t as string, options)],
    // a failed realpath read as "nothing below": 0, a success
    ["unmountRecursive", (t) => unmountRecursive(t as string, options)],
    ["unmountSubtree", (t) => unmountSubtree(t as string, options)],
    ["umountOperand", (t) => umountOperand(t as string, options)],
  ];
  test.each(unmounts)("%s: a target that is no string, or holds a NUL (umount2 would unmount the path cut there)", (_, call) => {
    refused(() => call(undefined), "unmount: target must be a string, got undefined");
    refused(() => call(5), "unmount: target must be a string, got 5");
    refused(() => call("/\0x"), 'unmount: target "/\\u0000x" contains a NUL byte');
    refused(() => unmount("/x", null as unknown as object), "unmount: options must be an object, got null");
  });

  test("a retry policy that cannot run: NaN or endless tries, a negative pause, errnos that are no list", () => {
    const cases: [Partial<typeof UNMOUNT_BUSY>, string][] = [
      [{ attempts: NaN }, "attempts must be a whole number from 1 to 1000000, got NaN"],
      [{ attempts: Infinity }, "attempts must be a whole number from 1 to 1000000, got Infinity"],
      [{ attempts: 0 }, "attempts must be a whole number from 1 to 1000000, got 0"],
      [{ delayMs: -1 }, "delayMs must be a number of milliseconds from 0 to 3600000, got -1"],
      [{ delayMs: NaN }, "delayMs must be a number of milliseconds from 0 to 3600000, got NaN"],
      [{ jitterPerAttemptMs: "5" as unknown as number }, 'jitterPerAttemptMs must be a number of milliseconds from 0 to 3600000, got "5"'],
      [{ errnos: undefined }, "errnos must be a list of errno codes, got undefined"],
      [{ errnos: [16, "EBUSY" as unknown as number] }, 'errnos must be a list of errno codes (positive whole numbers), got "EBUSY" in it'],
    ];
    for (const [change, message] of cases) {
      refused(() => withPolicy(UNMOUNT_BUSY, change), `retry policy: ${message}`);
      const policy = { ...UNMOUNT_BUSY, ...change };
      refused(() => retrySync(policy, () => 1), `retry: ${message}`);
      refused(() => unmount("/x", { ...options, retry: policy }), `unmount: ${message}`);
      refused(() => attachLoop("/img", { ...options, retry: policy }), `attach /img to a loop device: ${message}`);
    }
    refused(() => unmount("/x", { ...options, retry: null as unknown as typeof UNMOUNT_BUSY }), /^unmount: expected a retry policy/);
    refused(() => mount(ok, "/mnt/x", { ...options, unmountRetry: {} as typeof UNMOUNT_BUSY }), /^options: unmountRetry: attempts must be/);
  });

  test("mountkit's own policies are checked once, when defined, and frozen; a caller's is checked at each call", () => {
    expect(Object.isFrozen(UNMOUNT_BUSY)).toBe(true);
    expect(Object.isFrozen(UNMOUNT_BUSY.errnos)).toBe(true);
    expect(() => definePolicy({ ...UNMOUNT_BUSY, name: "bad", attempts: 0 })).toThrow("retry policy bad: attempts must be a whole number from 1 to 1000000, got 0");
    // a caller's policy may change between calls: the change is seen
    const mine = { ...UNMOUNT_BUSY, attempts: 2 };
    expect(retrySync(mine, () => 1)).toBe(1);
    mine.attempts = NaN;
    refused(() => retrySync(mine, () => 1), "retry: attempts must be a whole number from 1 to 1000000, got NaN");
  });

  test("the options of a call: their callbacks functions, the helper dir an absolute path", () => {
    refused(() => mount(ok, "/mnt/x", null as unknown as object), "mount: options must be an object, got null");
    refused(() => mount(ok, "/mnt/x", { ...options, log: 5 as unknown as () => void }), "options: log must be a function, got 5");
    refused(() => mount(ok, "/mnt/x", { ...options, warn: "w" as unknown as () => void }), 'options: warn must be a function, got "w"');
    refused(() => mount(ok, "/mnt/x", { ...options, helperDir: "rel" }), "helper dir rel is not an absolute path");
    refused(() => mount(ok, "/mnt/x", { ...options, helperDir: "/sbin\0x" }), 'options: helperDir "/sbin\\u0000x" contains a NUL byte');
    // its arm() is called part-way (a mount point made, a loop device attached): a TypeError there left them
    const stopWithout = { arm() {} } as unknown as StopRequests;
    refused(() => mount(ok, "/mnt/x", { ...options, stop: stopWithout }), "options: stop must be an object with arm() and requested(), got an object");
    refused(() => mountMakingTarget({ ...ok, options: ["X-mount.mkdir"] }, "/mnt/x", { ...options, stop: 5 as unknown as StopRequests }), "options: stop must be an object with arm() and requested(), got 5");
  });

  test("attachLoop: offset and sizeLimit whole byte counts a u64 holds exactly (a huge one wrapped to offset 0)", () => {
    for (const [field, value, shown] of [
      ["offset", -1, "-1"],
      ["offset", NaN, "NaN"],
      ["offset", 1.5, "1.5"],
      ["offset", 2 ** 70, "1.1805916207174113e+21"],
      ["offset", "512", '"512"'],
      ["sizeLimit", -512, "-512"],
      ["sizeLimit", Infinity, "Infinity"],
    ] as const) {
      refused(() => attachLoop("/img", { ...options, [field]: value }), `attach /img to a loop device: ${field} must be a whole number of bytes from 0 to 2^53 - 1, got ${shown}`);
    }
    refused(() => attachLoop("/img", { ...options, sectorSize: NaN }), "attach /img to a loop device: sectorSize must be a whole number of bytes, got NaN");
    refused(() => attachLoop("/img", { ...options, device: 0 as unknown as string }), "attach /img to a loop device: device must be a string, got 0");
    refused(() => attachLoop(undefined as unknown as string, options), "attach to a loop device: file must be a string, got undefined");
    refused(() => attachLoop("/img\0x", options), 'attach to a loop device: file "/img\\u0000x" contains a NUL byte');
    refused(() => attachLoop("", options), "attach to a loop device: empty file path");
    refused(() => detachLoop(7 as unknown as string, options), "detach: device must be a string, got 7");
    refused(() => setLoopCapacity("/dev/loop0\0", options), 'set the capacity: device "/dev/loop0\\u0000" contains a NUL byte');
  });

  test("idmapped mounts: the user namespace fd a C int, the attrs masks, the paths strings", () => {
    for (const [fd, shown] of [[-1, "-1"], [NaN, "NaN"], [1.5, "1.5"], [2 ** 40, "1099511627776"], ["3", '"3"']] as const) {
      refused(() => planIdmapMount("/s", "/t", fd as number), `idmap mount: invalid user namespace fd ${shown} (a file descriptor is a whole number from 0 to 2147483647)`);
    }
    refused(() => idmapMount(5 as unknown as string, "/t", 3, {}, options), "idmap mount: source must be a string, got 5");
    refused(() => idmapMount("/s", "/t\0x", 3, {}, options), 'idmap mount: target "/t\\u0000x" contains a NUL byte');
    refused(() => planIdmapMount("/s", "/t", 3, { attrSet: -1 }), "idmap mount: attrSet must be a whole number from 0 (a mask of flags), got -1");
    refused(() => planIdmapMount("/s", "/t", 3, null as unknown as object), "idmap mount: attrs must be an object, got null");
    refused(() => parseIdMappings("uidmap", 0 as unknown as string), "uidmap: expected container:host:size mappings (a string), got 0");
  });

  test("targets inside a root: resolveInRoot, rootPath, joinUnderRoot", () => {
    refused(() => resolveInRoot("/r", "a\0b", noSyscalls), 'resolve: path "a\\u0000b" contains a NUL byte');
    refused(() => resolveInRoot("/r", 5 as unknown as string, noSyscalls), "resolve: path must be a string, got 5");
    refused(() => rootPath("/r", undefined as unknown as string, () => null), "resolve: path must be a string, got undefined");
    refused(() => joinUnderRoot(undefined as unknown as string, "x"), "join under root: root must be a string, got undefined");
    refused(() => mountAll([{ ...ok, target: "/t" }], 5 as unknown as string, options), "root must be a path, got 5");
    refused(() => mountAll([{ ...ok, target: "/t" }], "", options), "root: empty path");
  });

  test("a namespace to enter, a temp mount location, a callback to run on the dir thread", () => {
    refused(() => enterMountNamespace(undefined as unknown as string, options), "enter a mount namespace: namespace must be a string, got undefined");
    refused(() => enterMountNamespace(-1 as unknown as string, options), "enter a mount namespace: namespace must be a string, got -1");
    refused(() => enterMountNamespace("1\0", options), 'enter a mount namespace: namespace "1\\u0000" contains a NUL byte');
    refused(() => setTempMountLocation(5 as unknown as string), "temp mount location: dir must be a string, got 5");
    refused(() => withDirThread(undefined as unknown as () => void), "dir thread: fn must be a function, got undefined");
  });

  test("apply's input and options", () => {
    refused(() => planApply(undefined as unknown as string, options), "apply: expected the input's text (a JSON mount list or OCI config), got undefined");
    refused(() => applyText("[]", null as unknown as object), "apply: options must be an object, got null");
    refused(() => planApply("[]", { ...options, root: 5 as unknown as string }), "apply: root must be a string, got 5");
  });

  test("the mount table: lookups, filters, the findmnt formatters, readMountInfo's pid", () => {
    const table = parseMountInfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:5 / /mnt rw - tmpfs t rw\n");
    expect(lookupMount(table, "/mnt/x")?.mountpoint).toBe("/mnt");
    refused(() => lookupMount(table, undefined as unknown as string), "look up mount: path must be a string, got undefined");
    refused(() => lookupMount(table, "/mnt\0/x"), 'look up mount: path "/mnt\\u0000/x" contains a NUL byte');
    refused(() => lookupMount(undefined as unknown as typeof table, "/"), "look up mount: expected a mount table (a list), got undefined");
    refused(() => prefixFilter(5 as unknown as string), "prefix filter: prefix must be a string, got 5");
    refused(() => parentsFilter(null as unknown as string), "parents filter: path must be a string, got null");
    refused(() => parseMountInfo(undefined as unknown as string), "parse mountinfo: expected the table's text, got undefined");
    refused(() => findmntJson(undefined as unknown as typeof table), "findmnt JSON: expected a list of mounts, got undefined");
    refused(() => findmntTable(table, ["TARGET", "NOPE"]), /^findmnt table: unknown column "NOPE"; known: TARGET, /);
    refused(() => findmntTable([null] as unknown as typeof table), "findmnt table: mounts[0] must be a MountInfo (an object as parseMountInfo makes), got null");
    for (const pid of [0, -1, 1.5, NaN, "../1", "self/../1"]) {
      refused(() => readMountInfo(pid as number), /^read mountinfo: pid must be a process id/);
    }
  });
});
