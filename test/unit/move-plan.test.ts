// mount --move plans: one MS_MOVE call, propagation after it, nothing else accepted. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { lookupOption } from "../../src/plan/option-table.ts";
import { formatStep } from "../../src/plan/steps.ts";

const facts = factsForVersion("6.18.0");
const plan = (options: string[], type = "", source = "/old") => planMount({ type, source, options }, "/new", facts);

describe("move", () => {
  test("one mount(2) with MS_MOVE, undoable (by moving back)", () => {
    const { steps } = plan(["move"]);
    expect(steps).toEqual([
      { op: "mount", role: "move", source: "/old", target: "/new", fstype: null, flags: MS.MOVE, data: null, inheritFlags: 0, undoable: true },
    ]);
    expect(formatStep(steps[0]!)).toBe('mount("/old", "/new", NULL, MS_MOVE, NULL)');
    expect(lookupOption("move")?.behaviour).toEqual({ kind: "set", flag: MS.MOVE });
  });

  test("propagation words follow as their own calls; defaults and x-* change nothing", () => {
    const { steps } = plan(["defaults", "move", "rprivate", "x-systemd.automount"]);
    expect(steps.map(formatStep)).toEqual(['mount("/old", "/new", NULL, MS_MOVE, NULL)', 'mount(NULL, "/new", NULL, MS_REC|MS_PRIVATE, NULL)']);
  });

  test("anything else is refused before any syscall, each item named", () => {
    expect(() => plan(["move", "ro", "size=1m", "loop"])).toThrow(PlanError);
    expect(() => plan(["move", "ro", "size=1m", "loop"])).toThrow(/^move \/old to \/new: a move takes no other options \(given: ro, size=1m, loop\)$/);
    expect(() => plan(["move", "bind"])).toThrow(/given: bind\)/);
    // the action is the move, whatever else was given (before: "remount /new: a move takes...")
    expect(() => plan(["move", "remount"])).toThrow(/^move \/old to \/new: a move takes no other options \(given: remount\)$/);
    expect(() => plan(["move", "uidmap=0:1000:1"])).toThrow(/given: uidmap=0:1000:1\)/);
    expect(() => plan(["move"], "tmpfs")).toThrow(/given: -t tmpfs\)/);
    expect(() => plan(["move"], "", "")).toThrow(/a move needs the mount point to move as its source/);
  });
});
