// SELinux options on a host without SELinux: dropped before the mount, as libmount drops them,
// so an fstab written for a SELinux host mounts here; kept where SELinux runs, and where the
// caller does not say (a plan made alone). Pure: whether SELinux runs is injected.
import { describe, expect, test } from "bun:test";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import { fsParamCheck, planEntry } from "../../src/plan/batch-plan.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { PlanEnv } from "../../src/plan/mount-request.ts";
import { withoutSelinuxOptions } from "../../src/plan/selinux-options.ts";
import type { HelperStep, MountStep } from "../../src/plan/steps.ts";

const facts = factsForVersion("6.18.0");
let asked = 0;
const without: PlanEnv = { selinuxEnabled: () => (asked++, false) };
const withSelinux: PlanEnv = { selinuxEnabled: () => (asked++, true) };
const plan = (type: string, options: string[], env: PlanEnv) => planMount({ type, source: "none", options }, "/mnt", facts, env);
const data = (options: string[], env: PlanEnv) => (plan("tmpfs", options, env).steps[0] as MountStep).data;

describe("withoutSelinuxOptions", () => {
  test("each of libmount's five goes, with or without a value, quoted or not", () => {
    const options = ['context="system_u:object_r:tmp_t:s0:c1,c2"', "fscontext=a", "defcontext=b", "rootcontext=c", "seclabel"];
    expect(withoutSelinuxOptions(options)).toEqual([]);
  });

  test("the others stay in order, an entry of several written again without them", () => {
    expect(withoutSelinuxOptions(["size=1m,context=x,mode=700", "ro", 'rootcontext="a,b"'])).toEqual(["size=1m,mode=700", "ro"]);
  });

  test("options that only look alike stay, and an untouched list is the same array", () => {
    const options = ["size=1m", "mycontext=x", "seclabelled", "x-context=y"];
    expect(withoutSelinuxOptions(options)).toBe(options);
    const input = ["context=x", "size=1m"];
    withoutSelinuxOptions(input);
    expect(input).toEqual(["context=x", "size=1m"]); // the caller's array is never changed
  });
});

describe("plans", () => {
  test("without SELinux: mount(2) gets none of them", () => {
    expect(data(["context=system_u:object_r:tmp_t:s0", "size=1m"], without)).toBe("size=1m");
    expect(data(["context=x"], without)).toBeNull(); // NULL data, as for no options at all
  });

  test("with SELinux: kept for the kernel, quotes and all", () => {
    expect(data(['context="a:b:c:s0:c1,c2"', "size=1m"], withSelinux)).toBe('context="a:b:c:s0:c1,c2",size=1m');
  });

  test("no answer given (a plan made alone, containerd's way): kept, the kernel judges them", () => {
    expect(data(["context=x", "size=1m"], {})).toBe("context=x,size=1m");
  });

  test("a helper is not given them either, as libmount removes them before it runs one", () => {
    const step = planMount({ type: "fuse.sshfs", source: "u@h:/", options: ["context=x", "uid=0"] }, "/mnt", facts, without).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse", "u@h:/", "/mnt", "-o", "uid=0", "-t", "sshfs"]);
  });

  test("the host is asked only when an option is one of them", () => {
    asked = 0;
    data(["size=1m", "mode=700"], without);
    expect(asked).toBe(0);
    data(["defcontext=x"], without);
    expect(asked).toBe(1);
  });
});

describe("a batch's checks before it mounts (apply, mount -a, findmnt --verify) read the options as the plan does", () => {
  const [entry] = entriesFromMounts([{ type: "tmpfs", source: "none", target: "t", options: ["context=system_u:object_r:tmp_t:s0", "size=1m"] }]);
  const [bind] = entriesFromMounts([{ type: "none", source: "/src", target: "b", options: ["bind", "context=system_u:object_r:tmp_t:s0"] }]);

  test("without SELinux: fsconfig is not asked about them, which tmpfs would refuse", () => {
    const plan = planEntry(entry!, "/r/t", facts, without);
    expect(fsParamCheck(entry!, plan, without)?.params).toEqual(["size=1m"]);
  });

  test("with SELinux, or no answer: they are asked about, as the plan passes them on", () => {
    expect(fsParamCheck(entry!, planEntry(entry!, "/r/t", facts, withSelinux), withSelinux)?.params).toEqual(["context=system_u:object_r:tmp_t:s0", "size=1m"]);
    expect(fsParamCheck(entry!, planEntry(entry!, "/r/t", facts, {}), {})?.params).toEqual(["context=system_u:object_r:tmp_t:s0", "size=1m"]);
  });

  test("a bind's entry is not refused for an option the plan drops; with SELinux it is data a bind does not take", () => {
    expect(planEntry(bind!, "/r/b", facts, without).steps[0]).toMatchObject({ op: "mount", flags: MS.BIND });
    expect(() => planEntry(bind!, "/r/b", facts, withSelinux)).toThrow(/^entry 1: unknown option "context=system_u:object_r:tmp_t:s0": a bind mount takes only mount flags/);
  });
});
