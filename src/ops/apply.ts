/**
 * apply: a containerd mount list or an OCI config.json, mounted as one batch (ops/batch.ts).
 * Works out the root (--root, else OCI root.path relative to the bundle, else "/"), and gives
 * the dry-run view: every entry's plan for its target as it resolves now.
 */
import { dirname, isAbsolute, resolve } from "../path.ts";
import { PlanError, quotePath, shownValue, SyscallError } from "../errors.ts";
import { parseApplyInput, ROOT_READONLY_NOT_APPLIED, type ApplyInput } from "../plan/apply-input.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { isBind } from "../plan/mount-request.ts";
import { planBatch, planEntry, readOnlyLaterPlan } from "../plan/batch-plan.ts";
import { hasTransform, planActivation, type MkdirAction } from "../plan/activation.ts";
import { describeMkfs, type MkfsAction } from "../plan/mkfs.ts";
import type { Plan } from "../plan/steps.ts";
import { runEntries, type BatchOptions, type BatchOutcome } from "./batch.ts";
import { opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import { newTempPath } from "./temp-location.ts";
import { checkFsParams } from "./fs-params.ts";
import { planEnv, readyToRun } from "./mount.ts";
import { checkLoopBackingFiles } from "./loop.ts";
import { erofsHandlerPlan, mkdirRootsOf } from "./activation.ts";
import { canonicalRoot, resolveInRoot } from "./resolve.ts";
import { optionalPath, requireFunction, requireOptionsObject } from "../plan/caller-input.ts";
import { absolutePath } from "../sys/cwd.ts";

export interface ApplyOptions extends BatchOptions {
  /** the root targets are inside; overrides OCI root.path */
  root?: string;
  /** create missing targets of a containerd list (OCI targets are always created) */
  mkdir?: boolean;
  /** the input's file name, for messages and to find a relative OCI root.path; "-" is stdin */
  file?: string;
}

export interface ApplyRequest {
  readonly input: ApplyInput;
  readonly name: string;
  /** the command, messages' first word: options.action, else "apply" */
  readonly action: string;
  /** the root as given (--root) or derived (OCI root.path); undefined when neither says */
  readonly root: string | undefined;
}

/** Parse the input and find its root. A PlanError for anything wrong, before any mount. */
export function applyRequest(text: string, options: ApplyOptions = {}): ApplyRequest {
  checkApplyCall(text, options);
  const name = options.file === undefined || options.file === "-" ? "stdin" : options.file;
  const action = options.action ?? "apply";
  const parsed = parseApplyInput(text, { mkdir: options.mkdir ?? false, name, action });
  // runtime-spec: root.path and relative bind sources are relative to the bundle, the
  // directory that holds config.json.
  const bundle = options.file === undefined || options.file === "-" ? absolutePath() : dirname(absolutePath(options.file));
  const input = parsed.format === "oci" ? { ...parsed, entries: parsed.entries.map((e) => withBundleSource(e, bundle)) } : parsed;
  let root = options.root;
  if (root === undefined && input.root !== undefined) root = isAbsolute(input.root) ? input.root : resolve(bundle, input.root);
  if (input.rootReadonly) options.warn?.(ROOT_READONLY_NOT_APPLIED);
  return { input, name, action, root };
}

/**
 * What applyText, planApply and withMountsFromText are given, before the input is read: its text
 * a string (JSON.parse would read undefined as the word "undefined"), the options an object,
 * root and file paths (a number failed as a TypeError, part-way).
 */
function checkApplyCall(text: unknown, options: ApplyOptions): void {
  const action = (typeof options === "object" && options !== null && typeof options.action === "string" && options.action) || "apply";
  requireOptionsObject(options, action);
  if (typeof text !== "string") throw new PlanError(`${action}: expected the input's text (a JSON mount list or OCI config), got ${shownValue(text)}`);
  optionalPath(options.root, "root", action);
  optionalPath(options.file, "file", action);
  // called while the input is read, before any other option is checked (opsContext)
  if (options.warn !== undefined && typeof options.warn !== "function") requireFunction(options.warn, "warn", "options");
}

/**
 * apply's root: the request's, else "/" for a containerd list (then every entry must name its
 * target). An OCI config without root.path is refused: the runtime spec requires it, and
 * falling back to "/" would create its missing destinations in this system's root.
 */
export function applyRoot(request: ApplyRequest): string {
  if (request.root !== undefined) return request.root;
  if (request.input.format === "oci") {
    throw new PlanError(`${request.action} ${request.name}: the OCI config has no "root" (root.path), and no --root was given`, {
      hint: "give --root DIR; --root / mounts on this system's own root",
    });
  }
  const rootless = request.input.entries.find((e) => e.mount.target === "");
  if (rootless) throw new PlanError(`${request.action} ${request.name}: ${rootless.where}: no "target", and no --root to mount on`);
  return "/";
}

/** An OCI bind whose source is relative takes it from the bundle directory. */
function withBundleSource(entry: BatchEntry, bundle: string): BatchEntry {
  const m = entry.mount;
  if (m.source === "" || isAbsolute(m.source) || !isBindOrBad(m)) return entry;
  return { ...entry, mount: { ...m, source: resolve(bundle, m.source) } };
}

/** isBind; an option refused by name (encryption=, verity.*) is left to planning, which names the entry. */
function isBindOrBad(mount: BatchEntry["mount"]): boolean {
  try {
    return isBind({ mount });
  } catch (err) {
    if (err instanceof PlanError) return false;
    throw err;
  }
}

/** Mount everything the input lists (all or nothing unless keepGoing). */
export function applyText(text: string, options: ApplyOptions = {}): BatchOutcome & { request: ApplyRequest } {
  const request = applyRequest(text, options);
  const outcome = runEntries(request.input.entries, applyRoot(request), { action: "apply", ...options });
  return Object.assign(outcome, { request });
}

export interface PlannedEntry {
  readonly entry: BatchEntry;
  /** the host target as it resolves now (an earlier entry's mount may change it at run time) */
  readonly target: string;
  readonly plan: Plan;
  /** what is done before the plan runs (containerd's mkdir/ and mkfs/ transforms, its loop handler), as text */
  readonly prepare?: readonly string[];
  /** the read-only remount made once every entry is mounted (batch-entry.ts readOnlyAtTheEnd) */
  readonly readOnlyLater?: Plan;
}

/**
 * --dry-run: each entry's plan, with no mount made and nothing created, and the root they
 * would be mounted under. The same refusals as a real run (the plan checks and the kernel's
 * check of each filesystem's options).
 */
export function planApply(text: string, options: ApplyOptions = {}): { request: ApplyRequest; root: string; entries: PlannedEntry[] } {
  const request = applyRequest(text, options);
  // the canonical root, as the run reports it (BatchOutcome.root): realpath only, nothing made
  const root = canonicalRoot(applyRoot(request));
  return { request, root, entries: planEntries(request.input.entries, root, options, "apply") };
}

/** Plan entries for their targets as they resolve now, and ask the kernel about their options. */
export function planEntries(entries: readonly BatchEntry[], root: string, options: OpsOptions & Pick<BatchOptions, "mkdirRoots">, action: string): PlannedEntry[] {
  const canonical = canonicalRoot(root);
  const ctx = opsContext(options);
  if (!entries.some((e) => hasTransform(e.mount.type))) {
    // as runEntries: a mkdir root that is missing, or /, is bad input whatever the list holds
    mkdirRootsOf(options);
    return planInRoot(entries, canonical, ctx, action, true);
  }
  // containerd's transforms: the temp mounts on their (future) temp directories, then the real
  // mounts with the templates filled. The kernel is not asked about the real mounts' options:
  // what they name exists only once the temp mounts do.
  const activation = planActivation(entries, newTempPath("activate"), mkdirRootsOf(options))!;
  const temp = activation.temp.map((t): PlannedEntry => {
    const entry = { ...t.entry, mount: { ...t.mount, target: t.mountPoint } };
    const prepare = preparation(t.mkdirs, t.mkfs);
    if (t.loop !== undefined) {
      const flags = ["LO_FLAGS_AUTOCLEAR", ...(t.loop.readOnly ? ["LO_FLAGS_READ_ONLY"] : []), ...(t.loop.directIo ? ["LO_FLAGS_DIRECT_IO"] : [])].join("|");
      prepare.push(`attach ${quotePath(t.mount.source)} to a free loop device (${flags}), then symlink(/dev/loopN, ${JSON.stringify(t.mountPoint)}) (containerd's loop handler)`);
      return { entry, target: t.mountPoint, plan: { action: `attach ${quotePath(t.mount.source)} to a loop device`, steps: [] }, prepare };
    }
    const plan = readyToRun(planEntry(entry, t.mountPoint, ctx.facts, planEnv(ctx)), ctx);
    return { entry, target: t.mountPoint, plan: t.erofs ? erofsHandlerPlan(plan, ctx) : plan, prepare };
  });
  const system = planInRoot(activation.system, canonical, ctx, action, false);
  system[0] = { ...system[0]!, prepare: preparation(activation.systemMkdirs, activation.systemMkfs) };
  return [...temp, ...system];
}

/** What a dry run adds to a nofail entry's problem: the run will not stop there. */
const NOFAIL_WARNING = "nofail: it will fail alone, a warning";

/** checkLoopBackingFiles for an entry, named; a nofail entry's failure a warning, as in the run. */
function checkImages(entry: BatchEntry, plan: Plan, ctx: OpsContext, action: string): void {
  try {
    checkLoopBackingFiles(plan, ctx);
  } catch (err) {
    if (!(err instanceof SyscallError || err instanceof PlanError)) throw err;
    if (entry.nofail) {
      ctx.warn?.(`${entry.where}: ${err.message}${err.hint ? ` (${err.hint})` : ""}; ${NOFAIL_WARNING}`);
      return;
    }
    if (err instanceof SyscallError) throw err.withAction(`${action}: ${entry.where}: ${err.action}`);
    err.message = `${action}: ${entry.where}: ${err.message}`;
    throw err;
  }
}

/** The dry run's lines for what the transforms do before a mount. */
function preparation(mkdirs: readonly MkdirAction[], mkfs: MkfsAction | undefined): string[] {
  const owner = (mk: MkdirAction) => (mk.uid === undefined && mk.gid === undefined ? "" : `, owner ${mk.uid ?? -1}:${mk.gid ?? -1}`);
  const lines = mkdirs.map((mk) => `mkdir ${quotePath(`${mk.root}/${mk.below}`)} (0${mk.mode.toString(8)}${owner(mk)}) beneath ${quotePath(mk.root)}`);
  if (mkfs !== undefined) lines.push(describeMkfs(mkfs));
  return lines;
}

function planInRoot(entries: readonly BatchEntry[], root: string, ctx: OpsContext, action: string, askKernel: boolean): PlannedEntry[] {
  const targets = new Map(entries.map((e) => [e, resolveInRoot(root, e.mount.target, ctx.sys)]));
  const plans = planBatch(entries, (e) => targets.get(e)!, ctx.facts, action, planEnv(ctx)).map((p) => readyToRun(p, ctx));
  if (askKernel) {
    // a nofail entry the kernel refuses will fail alone, a warning: said now, as the run would say it
    const { nofailRefusals } = checkFsParams(entries, plans, ctx, action);
    nofailRefusals.forEach((refusal, i) => {
      if (refusal !== undefined) ctx.warn?.(`${entries[i]!.where}: ${refusal}; ${NOFAIL_WARNING}`);
    });
    // an image the attach would refuse (missing, a directory) fails the dry run, as mount -n
    entries.forEach((entry, i) => checkImages(entry, plans[i]!, ctx, action));
  }
  return entries.map((entry, i) => {
    const target = targets.get(entry)!;
    return { entry, target, plan: plans[i]!, ...(entry.readOnlyLater ? { readOnlyLater: readOnlyLaterPlan(entry, target, ctx.facts) } : {}) };
  });
}
