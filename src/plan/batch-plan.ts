/**
 * Planning a batch. Each entry goes through planMount, the same path as a single mount, so
 * every feature planner (loop, idmap, FUSE) works in batches as soon as it exists. What a
 * batch adds: the entry named in every message, options that mean nothing for a bind refused,
 * and the list of filesystem parameters the kernel is asked to check before anything is
 * mounted. Pure.
 */
import { PlanError, quotePath } from "../errors.ts";
import type { BatchEntry } from "./batch-entry.ts";
import type { KernelFacts } from "./facts.ts";
import { MS, MS_LOCKED_IN_USERNS } from "./flags.ts";
import { planRequest } from "./mount-plan.ts";
import { isBind, type Mount, type PlanEnv } from "./mount-request.ts";
import { classifyOptions } from "./options.ts";
import { withNumericIds } from "./id-options.ts";
import { selinuxOptionsForHost } from "./selinux-options.ts";
import { MS_PER_MOUNT } from "./plain.ts";
import type { Plan } from "./steps.ts";

/** The plan of one entry for its host target; a PlanError names the entry. */
export function planEntry(entry: BatchEntry, hostTarget: string, facts: KernelFacts, env: PlanEnv = {}): Plan {
  try {
    const options = classifyOptions(selinuxOptionsForHost(entry.mount.options, env.selinuxEnabled));
    if (isBind({ mount: entry.mount, options }) && options.data.length > 0 && !(options.flags & MS.REMOUNT)) {
      const [first] = options.data;
      throw new PlanError(`unknown option ${JSON.stringify(first)}: a bind mount takes only mount flags`, {
        hint: "bind mounts pass no options to a filesystem; see 'mountkit features --options'",
      });
    }
    return planRequest(entry.mount, hostTarget, facts, env);
  } catch (err) {
    throw nameEntry(entry, err);
  }
}

/**
 * An entry mounted read-write for the mounts inside it (batch-entry.ts readOnlyAtTheEnd) made
 * read-only once every entry stands: MS_REMOUNT|MS_BIND|MS_RDONLY, with the per-mount flags its
 * options set and, for those they do not mention, the ones the mount has (nosuid an rnosuid
 * set, the flags a user namespace locked), so only ro changes. The top mount alone, as runc's.
 * readOnly false: writable again, before a rollback or release removes the mount points made
 * in it.
 */
export function readOnlyLaterPlan(entry: BatchEntry, hostTarget: string, facts: KernelFacts, readOnly = true): Plan {
  const options = classifyOptions(entry.mount.options);
  return {
    action: `make ${quotePath(hostTarget)} ${readOnly ? "read-only" : "writable again"}`,
    steps: [
      {
        op: "mount",
        role: "bind-remount",
        source: null,
        target: hostTarget,
        fstype: null,
        flags: MS.REMOUNT | MS.BIND | (readOnly ? MS.RDONLY : 0) | (options.flags & MS_PER_MOUNT & ~MS.RDONLY),
        data: null,
        inheritFlags: (MS_PER_MOUNT & ~MS.RDONLY & ~options.flagsMentioned) | (facts.inUserNamespace ? MS_LOCKED_IN_USERNS & ~MS.RDONLY : 0),
        undoable: false,
      },
    ],
  };
}

/** Prefix a PlanError with the entry ("entry 3 (/dev/pts): ..."); other errors pass unchanged. */
export function nameEntry(entry: BatchEntry, err: unknown): unknown {
  return err instanceof PlanError ? prefixed(`${entry.where}: `, err) : err;
}

/** The same PlanError (same class, same hint) with its message prefixed. */
function prefixed(prefix: string, err: PlanError): PlanError {
  const Same = err.constructor as new (message: string, options?: { cause?: unknown; hint?: string }) => PlanError;
  return new Same(`${prefix}${err.message}`, { cause: err, ...(err.hint ? { hint: err.hint } : {}) });
}

/**
 * Plan every entry before anything is mounted, for its target as known now (targetOf may
 * throw a PlanError, such as a symlink cycle; the real target can depend on earlier entries'
 * mounts, so it is resolved again at mount time). Every bad entry is reported in one PlanError.
 */
export function planBatch(
  entries: readonly BatchEntry[],
  targetOf: (entry: BatchEntry) => string,
  facts: KernelFacts,
  action: string,
  env: PlanEnv = {},
): Plan[] {
  const planned = planEach(entries, targetOf, facts, env);
  const problems = planned.filter((p): p is PlanError => p instanceof PlanError);
  if (problems.length === 1) throw prefixed(`${action}: `, problems[0]!);
  if (problems.length > 1) {
    throw new PlanError(`${action}: ${problems.length} bad entries: ${problems.map((p) => p.message).join("; ")}`, {
      hint: "nothing was mounted",
    });
  }
  return planned as Plan[];
}

/**
 * planBatch without the refusal: each entry's plan, or the PlanError (naming the entry) that
 * planning it gave. mount -a keeps the others and reports that entry's failure in its turn.
 */
export function planEach(entries: readonly BatchEntry[], targetOf: (entry: BatchEntry) => string, facts: KernelFacts, env: PlanEnv = {}): (Plan | PlanError)[] {
  return entries.map((entry) => {
    try {
      let target: string;
      try {
        target = targetOf(entry);
      } catch (err) {
        throw nameEntry(entry, err);
      }
      return planEntry(entry, target, facts, env);
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      return err;
    }
  });
}

/** A new filesystem an entry creates, and the parameters it passes: what the kernel can check. */
export interface FsParamCheck {
  readonly fstype: string;
  /** fs data items, each "key" (a flag) or "key=value" */
  readonly params: readonly string[];
}

/**
 * The filesystem the entry's plan creates with mount(2) (role "mount"), or on the loop device it
 * attaches (an image file), with its data items as the plan passes them (uid=NAME's id, through
 * env as the plan was made: id-options.ts; no SELinux option on a host without SELinux:
 * selinux-options.ts; a loop's direct-io taken out, as plan/loop.ts takes it);
 * undefined for binds, remounts, propagation changes and plans of other kinds, for a type read
 * from the device, and for a type list (mount -t a,b): a later type may take what the first
 * refuses, or exist where the first does not, and the mount tries each in turn.
 */
export function fsParamCheck(entry: { readonly mount: Mount }, plan: Plan, env: PlanEnv): FsParamCheck | undefined {
  const step = plan.steps.find((s) => (s.op === "mount" && s.role === "mount") || s.op === "loop-mount");
  if (!step || (step.op !== "mount" && step.op !== "loop-mount") || step.fstype === null || step.otherTypes !== undefined) return undefined;
  const options = withNumericIds(selinuxOptionsForHost(entry.mount.options, env.selinuxEnabled), env, () => plan.action);
  const data = classifyOptions(options).data;
  return { fstype: step.fstype, params: step.op === "loop-mount" ? data.filter((item) => item !== "direct-io") : data };
}

/** The message for a parameter the kernel refused, naming the entry. */
export function refusedParam(entry: BatchEntry, check: FsParamCheck, param: string | undefined, detail: string): PlanError {
  return new PlanError(`${entry.where}: ${check.fstype} on ${quotePath(entry.mount.target || "/")}: ${refusalText(check, param, detail)}`);
}

/** "option \"mode=x\" refused by the kernel: DETAIL" (the type itself when param is undefined). */
export function refusalText(check: FsParamCheck, param: string | undefined, detail: string): string {
  const what = param === undefined ? `filesystem type ${JSON.stringify(check.fstype)}` : `option ${JSON.stringify(param)}`;
  return `${what} refused by the kernel: ${detail}`;
}
