/**
 * Ask the kernel, before a batch mounts anything, whether each new filesystem's type exists
 * and accepts its options: fsopen(type) then one fsconfig per option on a context that is
 * never turned into a mount. mount(2) would only say EINVAL at the entry itself, after the
 * entries before it were mounted; this names the option up front ("tmpfs: Unknown parameter
 * 'siz'"). Only EINVAL and ENODEV are refusals: any other errno (a path that an earlier entry
 * will create, EPERM) leaves the judgement to the mount itself.
 */
import { Errno } from "../errno.ts";
import { isErrno, type MountkitError, type PlanError, SyscallError } from "../errors.ts";
import { badEntries } from "../plan/apply-input.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { fsParamCheck, refusalText, refusedParam, type FsParamCheck } from "../plan/batch-plan.ts";
import type { Plan } from "../plan/steps.ts";
import type { Mount } from "../plan/mount-request.ts";
import { FSCONFIG, FSOPEN_CLOEXEC } from "../sys/mount-api.ts";
import type { OpsContext } from "./context.ts";
import { planEnv } from "./mount.ts";
import { readKernelMessages } from "./fs-context.ts";
import { byteLength } from "../path-text.ts";
import { splitOptionText } from "../option-text.ts";
import { classifyOptions } from "../plan/options.ts";
import { mountAtTarget } from "./move-hints.ts";

/** fsconfig copies at most 256 bytes of a string value, NUL included; longer ones are not checked. */
const FSCONFIG_STRING_MAX = 255;

/**
 * Check every entry's filesystem parameters; one PlanError lists every refusal but those of
 * nofail entries, which fail alone in their turn (as mount -a's nofail lines): their refusals
 * are returned, by entry, to explain that failure. Failures to close a checking context are
 * returned (warnings of the batch), or kept with the PlanError as cleanup errors: they never
 * stand in for the check's answer.
 */
export function checkFsParams(
  entries: readonly BatchEntry[],
  plans: readonly Plan[],
  ctx: OpsContext,
  action: string,
): { cleanup: MountkitError[]; nofailRefusals: (string | undefined)[] } {
  const cleanup: MountkitError[] = [];
  const refusals = fsParamRefusals(entries, plans, ctx, cleanup);
  const problems = refusals.flatMap((refusal, i) => (refusal && !entries[i]!.nofail ? [refusal.error.message] : []));
  if (problems.length > 0) {
    const refusal = badEntries(action, problems);
    refusal.cleanupErrors.push(...cleanup);
    throw refusal;
  }
  return { cleanup, nofailRefusals: refusals.map((refusal) => refusal?.text) };
}

/**
 * checkFsParams without the refusal: for each entry, what the kernel refused of it (a PlanError
 * naming the entry, and the refusal alone as text), or undefined (taken, not asked, or no plan). A failure to close a checking
 * context is pushed to cleanup.
 */
export function fsParamRefusals(
  entries: readonly BatchEntry[],
  plans: readonly (Plan | undefined)[],
  ctx: OpsContext,
  cleanup: MountkitError[],
): ({ error: PlanError; text: string } | undefined)[] {
  if (!ctx.facts.mountApi) return entries.map(() => undefined); // no fsopen on this kernel: the mounts themselves will tell
  // entries with the same type and parameters are asked about once
  const verdicts = new Map<string, { param: string | undefined; detail: string } | null>();
  const env = planEnv(ctx);
  return entries.map((entry, i) => {
    const plan = plans[i];
    const check = plan && fsParamCheck(entry, plan, env);
    if (!check) return undefined;
    const key = [check.fstype, ...check.params].join("\0");
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = askKernel(check, ctx, cleanup);
      verdicts.set(key, verdict);
    }
    return verdict ? { error: refusedParam(entry, check, verdict.param, verdict.detail), text: refusalText(check, verdict.param, verdict.detail) } : undefined;
  });
}

/**
 * What the kernel refuses of one entry's filesystem parameters ("option \"mode=banana\"
 * refused by the kernel: tmpfs: Bad value for 'mode'"), or undefined when it takes them, cannot
 * say, or the plan makes no new filesystem: findmnt --verify's check of a line.
 */
export function kernelRefusal(entry: { readonly mount: Mount }, plan: Plan, ctx: OpsContext): string | undefined {
  if (!ctx.facts.mountApi) return undefined;
  const check = fsParamCheck(entry, plan, planEnv(ctx));
  if (!check) return undefined;
  const verdict = askKernel(check, ctx, []);
  return verdict ? refusalText(check, verdict.param, verdict.detail) : undefined;
}

/**
 * What the kernel refuses of a remount's filesystem data ("option \"bogus\" refused by the
 * kernel: tmpfs: Unknown parameter 'bogus'"), asked as for a new mount, on a context of the
 * mounted filesystem's type that is never mounted: the remount's EINVAL names no option.
 * undefined when that context takes them all (an option a remount alone refuses), the type
 * has a subtype (fuse.sshfs: no context of its own) or the target is no mount point.
 */
export function remountRefusal(plan: Plan, ctx: OpsContext): string | undefined {
  if (!ctx.facts.mountApi) return undefined;
  const step = plan.steps.find((s) => s.op === "mount" && s.role === "remount");
  if (step?.op !== "mount" || step.data === null || step.data === "") return undefined;
  const fstype = mountAtTarget(step.target)?.fstype;
  if (fstype === undefined || fstype.includes(".")) return undefined;
  const check: FsParamCheck = { fstype, params: classifyOptions(splitOptionText(step.data)).data };
  const verdict = askKernel(check, ctx, []);
  // the type itself refused: the filesystem mounted has no fs context to ask (nothing to say)
  return verdict?.param === undefined ? undefined : refusalText(check, verdict.param, verdict.detail);
}

/**
 * null when the kernel took everything (or cannot say); else what it refused and why. A
 * failing close of the context is pushed to cleanup.
 */
function askKernel(check: FsParamCheck, ctx: OpsContext, cleanup: MountkitError[]): { param: string | undefined; detail: string } | null {
  let fd: number;
  try {
    fd = ctx.sys.fsopen(check.fstype, FSOPEN_CLOEXEC);
  } catch (err) {
    if (isErrno(err, Errno.ENODEV)) return { param: undefined, detail: "unknown filesystem type (not in /proc/filesystems)" };
    return null;
  }
  try {
    for (const param of check.params) {
      const eq = param.indexOf("=");
      const key = eq < 0 ? param : param.slice(0, eq);
      const value = eq < 0 ? null : param.slice(eq + 1);
      if (value !== null && byteLength(value) > FSCONFIG_STRING_MAX) continue;
      try {
        ctx.sys.fsconfig(fd, value === null ? FSCONFIG.SET_FLAG : FSCONFIG.SET_STRING, key, value, 0);
      } catch (err) {
        if (!isErrno(err, Errno.EINVAL)) continue;
        const said = readKernelMessages(ctx.sys, fd).join("; ");
        return { param, detail: said || "EINVAL (Invalid argument)" };
      }
    }
    return null;
  } finally {
    try {
      ctx.sys.close(fd);
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      cleanup.push(err.withAction(`${check.fstype}: close the fs context that checked its options`));
    }
  }
}
