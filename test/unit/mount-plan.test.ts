import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS, MS_LOCKED_IN_USERNS } from "../../src/plan/flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { lazytimeRead } from "../../src/plan/plain.ts";
import { describeStep, formatStep, type MountStep } from "../../src/plan/steps.ts";

const facts = factsForVersion("6.18.0");
const userns = factsForVersion("6.18.0", { inUserNamespace: true });
const steps = (type: string, source: string, options: string[], target = "/mnt/x", f = facts) =>
  planMount({ type, source, options }, target, f).steps as MountStep[];

describe("plain mounts", () => {
  test("tmpfs with no options: one mount(2) with NULL data", () => {
    expect(steps("tmpfs", "tmpfs", [])).toEqual([
      { op: "mount", role: "mount", source: "tmpfs", target: "/mnt/x", fstype: "tmpfs", flags: 0, data: null, inheritFlags: 0, undoable: true, readOnlyFallback: false },
    ]);
  });

  test("flags and data split; data in order", () => {
    const [s] = steps("tmpfs", "tmpfs", ["nosuid", "size=1m", "nodev", "mode=0700"]);
    expect(s!.flags).toBe(MS.NOSUID | MS.NODEV);
    expect(s!.data).toBe("size=1m,mode=0700");
  });

  test("a new mount with options that fit the smallest page asks the facts neither the page size nor the user namespace", () => {
    // ops/features.ts probes both when first read (a dlopen, a read of /proc/self/uid_map): a
    // plain mount, which needs neither, must not read them (docs/bench.md, start-up)
    const unasked = Object.defineProperties({ ...facts }, {
      pageSize: { get: () => { throw new Error("pageSize read"); } },
      inUserNamespace: { get: () => { throw new Error("inUserNamespace read"); } },
    });
    const plan = planMount({ type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m"] }, "/mnt/x", unasked);
    expect(plan.steps.map((s) => s.op)).toEqual(["mount"]);
    // a bind's read-only remount keeps the locked flags: there the namespace is asked
    expect(() => planMount({ type: "bind", source: "/a", options: ["bind", "ro"] }, "/mnt/x", unasked)).toThrow("inUserNamespace read");
  });

  test("the page size the facts say is the limit, as planned: no page is below the smallest Linux has", () => {
    // the smallest page (4096) answers for data within it only because no facts can say less
    const data = [`size=1m`, `mode=${"0".repeat(1990)}700`];
    expect(() => planMount({ type: "tmpfs", source: "tmpfs", options: data }, "/mnt/x", factsForVersion("6.1.0", { pageSize: 1024 }))).toThrow(PlanError);
    expect(() => factsForVersion("6.1.0", { pageSize: 1024 })).toThrow("facts for version: extra.pageSize must be a whole number of bytes from 4096, got 1024");
    expect(factsForVersion("6.1.0", { pageSize: 65536 }).pageSize).toBe(65536);
  });

  test("an empty source is passed as none", () => {
    expect(steps("tmpfs", "", [])[0]!.source).toBe("none");
  });

  test("no type and no bind is refused before any syscall", () => {
    expect(() => steps("", "/dev/sdz", [])).toThrow(PlanError);
    expect(() => steps("", "/dev/sdz", [])).toThrow(/no filesystem type/);
  });

  test("a source longer than PATH_MAX (NUL counted) is refused: mount(2) would say EINVAL, read as a bad option or filesystem", () => {
    const fits = `/${"s".repeat(4094)}`; // 4095 bytes + NUL
    expect(steps("", fits, ["bind"])[0]!.source).toBe(fits);
    expect(steps("tmpfs", fits, [])[0]!.source).toBe(fits);
    for (const [type, options] of [["", ["bind"]], ["bind", ["ro"]], ["tmpfs", []]] as const) {
      expect(() => steps(type, `${fits}s`, [...options])).toThrow(PlanError);
      expect(() => steps(type, `${fits}s`, [...options])).toThrow(/: the source is 4097 bytes with the NUL, more than the 4096 \(PATH_MAX\) mount\(2\) takes$/);
    }
    // a remount passes no source (NULL): what names the mount is no argument of the call
    expect(steps("", `${fits}s`, ["remount", "ro"])[0]!.source).toBeNull();
  });

  test("data longer than a page (NUL counted) is refused", () => {
    const exactly = "x".repeat(4095); // 4095 bytes + NUL = one page: fits
    expect(steps("tmpfs", "t", [exactly])[0]!.data).toBe(exactly);
    expect(() => steps("tmpfs", "t", ["x".repeat(4096)])).toThrow(/more than the 4096-byte page/);
  });

  test("an empty or NUL-holding target is refused", () => {
    expect(() => steps("tmpfs", "t", [], "")).toThrow(PlanError);
    expect(() => steps("tmpfs", "t", [], "/a\0b")).toThrow(/NUL/);
  });
});

describe("binds", () => {
  test("bind: one call, no fstype, no data", () => {
    expect(steps("", "/src", ["bind"])).toEqual([
      { op: "mount", role: "bind", source: "/src", target: "/mnt/x", fstype: null, flags: MS.BIND, data: null, inheritFlags: 0, undoable: true },
    ]);
  });

  test("a bind type without a bind option is a bind (containerd#12549)", () => {
    const s = steps("bind", "/src", []);
    expect(s).toHaveLength(1);
    expect(s[0]!.flags).toBe(MS.BIND);
    expect(s[0]!.fstype).toBeNull();
  });

  test("rbind keeps MS_REC", () => {
    expect(steps("", "/src", ["rbind"])[0]!.flags).toBe(MS.BIND | MS.REC);
  });

  test("bind+ro: bind, then remount|bind|ro", () => {
    const s = steps("bind", "/src", ["ro"]);
    expect(s.map((x) => x.role)).toEqual(["bind", "bind-remount"]);
    expect(s[1]).toMatchObject({ source: null, flags: MS.REMOUNT | MS.BIND | MS.RDONLY, inheritFlags: 0, undoable: false });
  });

  test("bind with nosuid,nodev applies them by remount (containerd dropped them silently)", () => {
    const s = steps("", "/src", ["rbind", "nosuid", "nodev"]);
    expect(s[1]!.flags).toBe(MS.REMOUNT | MS.BIND | MS.NOSUID | MS.NODEV);
  });

  test("inside a user namespace the remount inherits the locked flags", () => {
    const s = steps("bind", "/src", ["ro"], "/mnt/x", userns);
    expect(s[1]!.inheritFlags).toBe(MS_LOCKED_IN_USERNS);
  });

  test("order follows the seed: mount, propagation, read-only remount", () => {
    const s = steps("", "/src", ["bind", "ro", "rprivate"]);
    expect(s.map((x) => x.role)).toEqual(["bind", "propagation", "bind-remount"]);
    expect(s[1]!.flags).toBe(MS.PRIVATE | MS.REC);
  });
});

describe("remount", () => {
  test("remount without data: one call with NULL data, keeping flags not mentioned", () => {
    const [s, ...rest] = steps("", "", ["remount", "ro"]);
    expect(rest).toEqual([]);
    expect(s).toMatchObject({ role: "remount", source: null, fstype: null, flags: MS.REMOUNT | MS.RDONLY, data: null, undoable: false });
    expect(s!.inheritFlags & MS.RDONLY).toBe(0);
    expect(s!.inheritFlags & MS.NOSUID).toBe(MS.NOSUID);
  });

  test("a remount keeps lazytime unless it says lazytime or nolazytime (the kernel clears it otherwise)", () => {
    expect(steps("", "", ["remount", "ro"])[0]!.inheritFlags & MS.LAZYTIME).toBe(MS.LAZYTIME);
    expect(steps("", "", ["remount", "nolazytime"])[0]!.inheritFlags & MS.LAZYTIME).toBe(0);
    expect(steps("", "", ["remount", "lazytime"])[0]!).toMatchObject({ flags: MS.REMOUNT | MS.LAZYTIME });
    // a bind remount changes per-mount flags only: lazytime is the superblock's
    expect(steps("", "", ["remount", "bind", "ro"])[0]!.inheritFlags & MS.LAZYTIME).toBe(0);
  });

  test("lazytime is read with statmount(2) from Linux 6.8, from mountinfo before it or under MOUNTKIT_STRATEGY=legacy", () => {
    expect([factsForVersion("6.8.0"), factsForVersion("6.7.12")].map((f) => [f.statmount, lazytimeRead(f)])).toEqual([
      [true, "statmount"],
      [false, "mountinfo"],
    ]);
    expect(lazytimeRead(factsForVersion("6.18.0", { strategy: "legacy" }))).toBe("mountinfo");
    // the kernel's own legacy choice for overlay (before 6.8) is not a forced one
    expect(lazytimeRead({ ...factsForVersion("6.18.0"), strategy: "legacy" })).toBe("statmount");
  });

  test("remount with data passes it", () => {
    expect(steps("tmpfs", "tmpfs", ["remount", "size=2m"])[0]!.data).toBe("size=2m");
  });

  test("with remountReplaces (mount(8) -o remount SOURCE TARGET, or an fstab line applied) nothing is kept from the mount but, in a user namespace, what is locked", () => {
    const replaced = (options: string[], f = facts) => (planMount({ type: "", source: "", options }, "/mnt/x", f, { remountReplaces: true }).steps[0] as MountStep).inheritFlags;
    expect(replaced(["remount", "ro"])).toBe(0);
    expect(replaced(["remount", "bind", "ro"])).toBe(0);
    expect(replaced(["remount", "ro"], userns)).toBe(MS_LOCKED_IN_USERNS);
    expect(steps("", "", ["remount", "ro"])[0]!.inheritFlags).not.toBe(0);
  });

  test("remount,bind,ro changes only per-mount flags", () => {
    const [s] = steps("", "", ["remount", "bind", "ro"]);
    expect(s!.role).toBe("bind-remount");
    expect(s!.flags).toBe(MS.REMOUNT | MS.BIND | MS.RDONLY);
  });
});

describe("propagation", () => {
  test("propagation only: no mount, one call per word", () => {
    const s = steps("", "", ["private", "unbindable"]);
    expect(s.map((x) => [x.role, x.flags, x.source, x.fstype, x.data])).toEqual([
      ["propagation", MS.PRIVATE, null, null, null],
      ["propagation", MS.UNBINDABLE, null, null, null],
    ]);
  });

  test("source none, type none or auto name nothing to mount: still propagation only (libmount's reading)", () => {
    for (const [type, source] of [["", "none"], ["none", "none"], ["none", ""], ["auto", ""]] as const) {
      expect([type, source, steps(type, source, ["rshared"]).map((x) => [x.role, x.flags, x.source])]).toEqual([type, source, [["propagation", MS.SHARED | MS.REC, null]]]);
    }
    // a sourceKind that says "file" (a file named none in the working directory) plans no loop device
    const plan = planMount({ type: "", source: "none", options: ["shared"] }, "/m", facts, { sourceKind: () => "file" });
    expect(plan.steps.map((x) => x.op)).toEqual(["mount"]);
  });

  test("an empty source is named as given, \"\", where no type stands in for it (never a \"none\" the caller did not write)", () => {
    expect(() => steps("", "", ["loop"], "/m")).toThrow(/^mount "" on \/m: a loop mount needs the image file as its source$/);
    expect(() => steps("", "", [], "/m")).toThrow(/^mount "" on \/m: no filesystem type given/);
  });

  test("propagation words with a flag and no source are a new mount that names nothing: the hint says how to change the mount there", () => {
    // mount --make-shared -o ro /m: mount(8) tries to mount "none" there and fails
    expect(() => steps("", "", ["shared", "ro"], "/m")).toThrow(/^mount "" on \/m: no filesystem type given/);
    expect(() => steps("", "", ["shared", "ro"], "/m")).toThrow(expect.objectContaining({ hint: expect.stringContaining("-o remount,ro") }));
    // with no propagation word the hint stays the type's
    expect(() => steps("", "", ["ro"], "/m")).toThrow(expect.objectContaining({ hint: "give one with -t TYPE (or --bind for a bind mount)" }));
  });

  test("a type that names a filesystem is a new mount of it, source none, whose propagation then changes", () => {
    const s = steps("tmpfs", "", ["shared"]);
    expect(s.map((x) => [x.role, x.source, x.fstype, x.flags])).toEqual([
      ["mount", "none", "tmpfs", 0],
      ["propagation", null, null, MS.SHARED],
    ]);
  });

  test("a new mount with a propagation word: the mount never carries propagation flags", () => {
    const s = steps("tmpfs", "tmpfs", ["rshared"]);
    expect(s[0]!.flags).toBe(0);
    expect(s[1]!.flags).toBe(MS.SHARED | MS.REC);
  });
});

describe("features not built yet are refused, never ignored", () => {
  test("loop is planned by its own planner now", () => expect(steps("ext4", "/img", ["loop"])[0]!.op as string).toBe("loop-mount"));
});

describe("printing a plan", () => {
  test("describeStep names flags and arguments", () => {
    const s = steps("", "/src", ["rbind"])[0]!;
    expect(describeStep(s)).toEqual({
      op: "mount",
      role: "bind",
      syscall: "mount",
      args: { source: "/src", target: "/mnt/x", fstype: null, flags: MS.BIND | MS.REC, flagNames: "MS_BIND|MS_REC", data: null },
      undoable: true,
    });
  });
  test("formatStep reads like C", () => {
    expect(formatStep(steps("tmpfs", "tmpfs", ["size=1m", "nosuid"])[0]!)).toBe('mount("tmpfs", "/mnt/x", "tmpfs", MS_NOSUID, "size=1m")');
  });
});

test("planMount never mutates the caller's options", () => {
  const options = ["bind", "ro", "rprivate"];
  const copy = [...options];
  planMount({ type: "", source: "/s", options }, "/t", facts);
  expect(options).toEqual(copy);
});

describe("a plan's action", () => {
  // Plans describe their action only when read (a successful mount never does): a getter, which
  // JSON.stringify would skip without the plan's toJSON.
  test("is read and serialised like a plain field", () => {
    const plan = planMount({ type: "tmpfs", source: "t", options: [] }, "/x y", facts);
    expect(plan.action).toBe("mount t on /x y");
    expect(JSON.parse(JSON.stringify(plan))).toEqual({ action: "mount t on /x y", steps: JSON.parse(JSON.stringify(plan.steps)) });
  });

  test("a remount and a propagation change name what they change, not a mount of 'none'", () => {
    expect(planMount({ type: "", source: "", options: ["remount", "ro"] }, "/m", facts).action).toBe("remount /m");
    expect(planMount({ type: "", source: "", options: ["rprivate"] }, "/m", facts).action).toBe("change the propagation of /m");
    expect(planMount({ type: "", source: "none", options: ["rprivate"] }, "/m", facts).action).toBe("change the propagation of /m");
    expect(planMount({ type: "", source: "/s", options: ["bind", "rprivate"] }, "/m", facts).action).toBe("mount /s on /m");
  });

  test("an error before any step still names it", () => {
    expect(() => planMount({ type: "", source: "s", options: [] }, "/t", facts)).toThrow(
      /^mount s on \/t: no filesystem type given/,
    );
  });
});
