// X-mount.owner=, X-mount.group= and X-mount.mode= in plans: the step after the mount, the ids
// and modes it takes, and what is refused before any syscall. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { PlanEnv } from "../../src/plan/mount-request.ts";
import { describeStep, formatStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const users: Record<string, number> = { app: 1001, nobody: 65534 };
const groups: Record<string, number> = { daemon: 1, users: 100 };
const env: PlanEnv = { userId: (name) => users[name], groupId: (name) => groups[name] };
const plan = (options: string[], type = "tmpfs", source = "tmpfs", planEnv = env) => planMount({ type, source, options }, "/srv/data", facts, planEnv);

describe("the set-owner step", () => {
  test("comes last, after every mount step, with names resolved and the mode octal", () => {
    const { steps } = plan(["size=1m", "X-mount.owner=app", "X-mount.group=daemon", "X-mount.mode=0750"]);
    expect(steps.map((s) => s.op)).toEqual(["mount", "set-owner"]);
    expect(steps[1]).toEqual({ op: "set-owner", target: "/srv/data", uid: 1001, gid: 1, mode: 0o750 });
    expect(formatStep(steps[1]!).split("\n")).toEqual(['lchown("/srv/data", 1001, 1)', 'chmod("/srv/data", 0750)']);
    expect(describeStep(steps[1]!)).toEqual({ op: "set-owner", syscalls: ["lchown", "chmod"], args: { target: "/srv/data", uid: 1001, gid: 1, mode: 0o750 } });
  });

  test("each option alone changes only its own part; numbers are taken as they are; the last of each wins", () => {
    expect(plan(["X-mount.mode=1777"]).steps[1]).toMatchObject({ uid: -1, gid: -1, mode: 0o1777 });
    expect(plan(["X-mount.mode=01777"]).steps[1]).toMatchObject({ mode: 0o1777 });
    expect(formatStep(plan(["X-mount.mode=1777"]).steps[1]!)).toBe('chmod("/srv/data", 01777)');
    expect(plan(["X-mount.group=100"]).steps[1]).toMatchObject({ uid: -1, gid: 100, mode: null });
    expect(formatStep(plan(["X-mount.group=users"]).steps[1]!)).toBe('lchown("/srv/data", -1, 100)');
    expect(plan(["X-mount.owner=5", "x-mount.owner=nobody", "X-mount.mode=7", "X-mount.mode=700"]).steps[1]).toMatchObject({ uid: 65534, mode: 0o700 });
  });

  test("after a bind's read-only remount, and never in the fs data", () => {
    const { steps } = plan(["bind", "ro", "X-mount.mode=0555"], "", "/src");
    expect(steps.map((s) => (s.op === "mount" ? s.role : s.op))).toEqual(["bind", "bind-remount", "set-owner"]);
    const tmpfs = plan(["X-mount.owner=0", "size=1m"]).steps[0]!;
    expect(tmpfs).toMatchObject({ op: "mount", data: "size=1m" });
  });

  test("no such option: the plan is the planner's, no step added", () => {
    expect(plan(["size=1m", "x-systemd.automount", "nofail"]).steps.map((s) => s.op)).toEqual(["mount"]);
  });
});

describe("refused before any syscall", () => {
  test.each([
    [["X-mount.owner=ghost"], /X-mount\.owner=ghost: no user named "ghost"/],
    [["X-mount.group=ghosts"], /X-mount\.group=ghosts: no group named "ghosts"/],
    [["X-mount.mode=0758"], /X-mount\.mode=0758 is not an octal mode/],
    [["X-mount.mode=u+rwx"], /X-mount\.mode=u\+rwx is not an octal mode/],
    [["X-mount.mode=17777"], /X-mount\.mode=17777 is not an octal mode/],
    [["X-mount.owner"], /X-mount\.owner needs a value/],
    [["X-mount.group="], /X-mount\.group= needs a value/],
    [["X-mount.owner=4294967295"], /X-mount\.owner=4294967295 is not a valid user id/],
  ])("%p", (options, message) => {
    const err = caught(() => plan(options)) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toMatch(message);
    expect(err.message).toStartWith("mount tmpfs on /srv/data: ");
  });

  test("a name with no look-up (a plan made alone) is refused with a hint; numbers still work", () => {
    const err = caught(() => plan(["X-mount.owner=app"], "tmpfs", "tmpfs", {})) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.hint).toMatch(/numeric ids/);
    expect(plan(["X-mount.owner=1001"], "tmpfs", "tmpfs", {}).steps[1]).toMatchObject({ uid: 1001 });
  });
});
