/**
 * mount(): plan a containerd-style Mount for a target and run the plan, rolling back on
 * failure. planOnly() gives the plan without running it (--dry-run).
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { planRequest } from "../plan/mount-plan.ts";
import { IMAGE_MIN_BYTES, validatePath, type Mount, type PlanEnv, type SourceKind } from "../plan/mount-request.ts";
import { checkMount, requireOptionsObject } from "../plan/caller-input.ts";
import type { Plan } from "../plan/steps.ts";
import { NO_OPTIONS, opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import { externalHelpers, locateHelpers } from "./helpers.ts";
import { mountHint } from "./hints.ts";
import { typeAndSize } from "../sys/stat.ts";
import { canonicalPath, deviceOfTag } from "./block-devices.ts";
import { runPlan } from "./run-plan.ts";
import { checkLoopBackingFiles } from "./loop.ts";
import { runPlanInRoot } from "./pinned-target.ts";
import type { BatchShared } from "./batch-shared.ts";
import type { DeviceTag } from "../plan/device-tag.ts";
import { withCreatedTarget } from "./targets.ts";
import { targetCreation } from "../plan/batch-entry.ts";
import { newTempPath } from "./temp-location.ts";
import { groupIdOf, userIdOf } from "../sys/users.ts";
import { refuseMountedAlready } from "./already-mounted.ts";
import { canonicalRoot, resolveInRoot } from "./resolve.ts";
import { libcSyscalls } from "../sys/seam.ts";
import { selinuxEnabled } from "./selinux.ts";

/**
 * Mount m on target, or, when m has a target of its own, on that path inside target (containerd's
 * Mount.Mount joins them with fs.RootPath, as mountAll does: links followed, never out of
 * target, and the mount point opened inside it). Throws PlanError before any syscall, or
 * SyscallError after rollback.
 */
export function mount(m: Mount, target: string, options: OpsOptions = NO_OPTIONS): Plan {
  const placed = placeMount(m, target, options);
  return mountOn(m, placed.target, placed.options);
}

/**
 * Where mount() puts m: target itself, or m.target resolved inside it. Only a mount with a
 * target of its own pays for the root's realpath and the walk.
 */
function placeMount(m: Mount, target: string, options: OpsOptions): { target: string; options: OpsOptions } {
  // m.target is read here, before planning checks m: a bad one is refused first, before the root's realpath
  if (typeof m !== "object" || m === null || m.target !== undefined) checkMount(m, "mount");
  requireOptionsObject(options, "mount");
  if (m.target === undefined || m.target === "") return { target, options };
  validatePath("target", target);
  const root = canonicalRoot(target);
  const joined = resolveInRoot(root, m.target, options.sys ?? libcSyscalls);
  // A --target-prefix root, if any, holds this one: the mount point is pinned in the outer one.
  return { target: joined, options: options.targetRoot === undefined ? { ...options, targetRoot: root } : options };
}

/**
 * Mount m on exactly target, m.target not read: for callers whose Mount carries its absolute
 * mount point in target (fstab lines, a batch's temp mounts). Same errors as mount(). handler:
 * a mount handler's say in the plan before it runs (containerd's manager's erofs handler).
 */
export function mountOn(m: Mount, target: string, options: OpsOptions = NO_OPTIONS, handler?: (plan: Plan, ctx: OpsContext) => Plan): Plan {
  const ctx = opsContext(options);
  if (options.onlyOnce === true) {
    // the table and the target are read before planning checks the request
    checkMount(m, "mount");
    validatePath("target", target);
    refuseMountedAlready(m, target, ctx);
  }
  const prepared = preparePlan(m, target, ctx);
  const plan = handler === undefined ? prepared : handler(prepared, ctx);
  try {
    if (options.targetRoot === undefined) runPlan(plan, ctx);
    else runPlanInRoot(plan, options.targetRoot, target, ctx);
  } catch (err) {
    if (err instanceof SyscallError && err.hint === undefined) err.hint = refusedOption(err, m, plan, ctx) ?? mountHint(err, m, target);
    throw err;
  }
  return plan;
}

/**
 * EINVAL of a new filesystem's mount(2), or of a remount's, says nothing of which option was
 * wrong: asked again through fsopen/fsconfig, the kernel names it ("tmpfs: Bad value for
 * 'huge'"), as mount(8) 2.39 shows, having mounted with the fd API. Only on the failure path.
 */
function refusedOption(err: SyscallError, m: Mount, plan: Plan, ctx: OpsContext): string | undefined {
  if (err.errno !== Errno.EINVAL || err.syscall !== "mount(2)") return undefined;
  const { kernelRefusal, remountRefusal } = require("./fs-params.ts") as typeof import("./fs-params.ts");
  return kernelRefusal({ mount: m }, plan, ctx) ?? remountRefusal(plan, ctx);
}

/**
 * mount(), honouring X-mount.mkdir[=mode] as mount(8) does on its command line: a missing
 * target is created first (mode 0755 unless given), and removed again if the mount fails.
 */
export function mountMakingTarget(m: Mount, target: string, options: OpsOptions = NO_OPTIONS): Plan {
  // its options are read (X-mount.mkdir) and the target made before planning checks them
  checkMount(m, "mount");
  validatePath("target", target);
  const placed = placeMount(m, target, options);
  const create = targetCreation(m.options, "X-mount.mkdir");
  if (create === undefined) return mountOn(m, placed.target, placed.options);
  const stop = opsContext(options).stop;
  return withCreatedTarget(m, placed.target, create, options.log, (part) => mountOn(m, placed.target, part === stop ? placed.options : { ...placed.options, stop: part }), placed.options.targetRoot, stop);
}

/** The plan mount() would run, with no syscall made (helpers are located, not run); m.target joined as mount() joins it. */
export function planOnly(m: Mount, target: string, options: OpsOptions = NO_OPTIONS): Plan {
  return planOn(m, placeMount(m, target, options).target, options);
}

/**
 * planOnly for exactly target, m.target not read (as mountOn). A file it would attach to a loop
 * device that the attach would refuse (missing, a directory) fails the plan, as the mount would.
 */
export function planOn(m: Mount, target: string, options: OpsOptions = NO_OPTIONS): Plan {
  const ctx = opsContext(options);
  const plan = preparePlan(m, target, ctx);
  checkLoopBackingFiles(plan, ctx);
  return plan;
}

/**
 * The one way an entry becomes a runnable plan, for mount() and for batches: the pure plan,
 * then what ops/ resolves before running it (helper paths).
 */
export function preparePlan(m: Mount, target: string, ctx: OpsContext): Plan {
  return readyToRun(planRequest(m, target, ctx.facts, planEnv(ctx)), ctx);
}

/** What ops/ resolves in a pure plan before running it; batches call it for their entries. */
export function readyToRun(plan: Plan, ctx: OpsContext): Plan {
  return locateHelpers(plan, ctx);
}

/** What a mount's source names, following symlinks (/dev/disk/by-label/x). */
function sourceKind(source: string): SourceKind {
  const node = typeAndSize(source);
  if (node === undefined) return "missing";
  if (node.type === "file") return node.size > IMAGE_MIN_BYTES ? "file" : "small-file";
  return node.type === "block" ? "block" : "other";
}

/**
 * Run-time choices plans may need, computed only when a planner reads them: a fresh temp
 * dir path (the idmapped overlay's temp lowerdirs), what a type-less or image mount's source
 * is, the device a UUID=/LABEL= source names, the ids of X-mount.owner/group and uid=/gid=
 * names (and the caller's own, for useruid/usergid), whether SELinux runs (for context=
 * and its kin). Nothing is allocated or stat()ed for
 * other mounts.
 */
const PLAN_ENV: PlanEnv = {
  get tempDir() {
    return newTempPath("idmap");
  },
  sourceKind,
  deviceOfTag,
  deviceName: canonicalPath,
  userId: userIdOf,
  groupId: groupIdOf,
  realUserId: () => process.getuid!(),
  realGroupId: () => process.getgid!(),
  selinuxEnabled,
};

/** PLAN_ENV for mount -w: no read-only fallback (plan/read-only-fallback.ts). */
const READ_WRITE_ONLY_ENV: PlanEnv = Object.create(PLAN_ENV, { readWriteOnly: { value: true } });

/** mount -c: a block device goes to mount(2) by the name given, not its canonical one. */
const asTyped = (device: string): string => device;

/** Each batch's PlanEnv: its tags found through the batch, once (batch-shared.ts). */
const batchEnvs = new WeakMap<BatchShared, PlanEnv>();

/** What plans of this context are made with. */
export function planEnv(ctx: OpsContext): PlanEnv {
  const env = sharedPlanEnv(ctx);
  // mount(8)'s helpers: a look-up of its own per context, made only for the CLI's mounts.
  return ctx.externalHelpers ? Object.create(env, { externalHelpers: { value: externalHelpers(ctx) } }) : env;
}

/** What a source counts as in a plan that is never run (mount(8)'s -f): one that is no image file (missing, a directory) is a block device. */
function nonImageAsDevice(source: string): SourceKind {
  return sourceKind(source) === "file" ? "file" : "block";
}

function sharedPlanEnv(ctx: OpsContext): PlanEnv {
  const readWrite = ctx.readWriteOnly ? READ_WRITE_ONLY_ENV : PLAN_ENV;
  const named = ctx.noCanonicalize ? Object.create(readWrite, { deviceName: { value: asTyped } }) : readWrite;
  // only mount(8)'s -f asks: an allocation per plan it prints
  const faked: PlanEnv = ctx.nonImageSourceAsDevice ? Object.create(named, { sourceKind: { value: nonImageAsDevice } }) : named;
  const base: PlanEnv = ctx.remountReplaces ? Object.create(faked, { remountReplaces: { value: true } }) : faked;
  const { batch } = ctx;
  if (batch === undefined) return base;
  let env = batchEnvs.get(batch);
  if (env === undefined) {
    env = Object.create(base, { deviceOfTag: { value: (tag: DeviceTag) => batch.deviceOfTag(tag) } }) as PlanEnv;
    batchEnvs.set(batch, env);
  }
  return env;
}
