/**
 * tmpcopyup, runc and crun's extension of the OCI runtime spec (its MAY), which podman adds to
 * its tmpfs mounts: the tmpfs mounted over a directory starts with a copy of what the
 * directory holds, so /etc or /var/lib/x in the container keeps its files while being writable
 * and ephemeral. As crun does it, not as runc (which mounts the tmpfs on a host temp dir, copies
 * by path, then moves it): the directory is opened before the tmpfs covers it, and copied
 * through that fd. Two ways (copyUpStrategy):
 *
 *   "detached" (the fd-based mount API, Linux 5.12): the tmpfs is made detached, filled through
 *   its own fd, made read-only if asked, and only then attached at the target
 *   (plan/copy-up-detached.ts): the target never shows a half-filled tmpfs, and the copy never
 *   looks the target's name up again.
 *
 *   "mounted" (MOUNTKIT_STRATEGY=legacy, or older kernels):
 *     $copyup = open(target, O_RDONLY|O_DIRECTORY|O_CLOEXEC)   before the mount: the directory
 *     mount("tmpfs", target, "tmpfs", ...)                      the planner's own steps
 *     copy $copyup into target                                  every call relative to an fd
 *     close($copyup)
 *   Inside a root the target is pinned (ops/pinned-target.ts): the open and the mount go through
 *   the same fd, and the copy writes into the mount made on it, found again by the target's name.
 *   A read-only tmpfs (ro) is mounted read-write, filled, then made read-only
 *   (MS_REMOUNT|MS_BIND|MS_RDONLY).
 *
 * The copy itself is ops/copy-up.ts. Pure.
 */
import { NotSupportedError, PlanError } from "../errors.ts";
import { detachedCopyUp } from "./copy-up-detached.ts";
import { legacyForced, type KernelFacts } from "./facts.ts";
import { MS } from "./flags.ts";
import { isBind, planFor, withOptions, type MountContext } from "./mount-request.ts";
import { MS_PER_MOUNT } from "./plain.ts";
import type { MountStep, Plan } from "./steps.ts";

/** The handle of the directory the tmpfs covers, from its open to its close. */
export const COPY_UP_SLOT = "copyup";

/** Before the mount: the target directory opened for reading, its fd put in slot. */
export interface CopyUpSourceStep {
  readonly op: "copy-up-source";
  readonly slot: string;
  readonly target: string;
}

/** After the mount: what the directory in slot holds, copied into the mount on target (or the detached one in into). */
export interface CopyUpStep {
  readonly op: "copy-up";
  readonly slot: string;
  readonly target: string;
  /**
   * The handle slot of the detached tmpfs to copy into (plan/copy-up-detached.ts); without it
   * the tmpfs mounted on target is opened there.
   */
  readonly into?: string;
  /**
   * What of the directory itself the tmpfs root takes (its xattrs and timestamps always): each
   * false where the options set it (mode=, uid=, gid=)
   */
  readonly rootMode: boolean;
  readonly rootUid: boolean;
  readonly rootGid: boolean;
}

/** How the tmpfs is made and filled: see the head of this file. */
export type CopyUpStrategy = "detached" | "mounted";

/**
 * Detached where the kernel has fsmount and mount_setattr (ro is set on the detached mount after
 * the copy), unless MOUNTKIT_STRATEGY=legacy. The kernel's default strategy is about overlay
 * (6.8+) and does not decide this. A plain tmpfs without tmpcopyup stays on mount(2), one call.
 */
export function copyUpStrategy(facts: KernelFacts): CopyUpStrategy {
  return facts.mountApi && facts.mountSetattr && !legacyForced(facts) ? "detached" : "mounted";
}

/** openat2(2) is what every step of the copy is made with (Linux 5.6). */
const OPENAT2_VERSION: readonly [number, number] = [5, 6];

/**
 * The request as its planner sees it: refused unless it makes a new tmpfs, and without ro (the
 * tmpfs must be filled first; withCopyUp makes it read-only after).
 */
export function copyUpContext(ctx: MountContext): MountContext {
  const flags = ctx.options.flags;
  const what = isBind(ctx)
    ? "a bind mount"
    : flags & MS.REMOUNT
      ? "a remount"
      : flags & MS.MOVE
        ? "a move"
        : ctx.mount.type !== "tmpfs" || ctx.otherTypes.length > 0
          ? `a filesystem of type ${JSON.stringify([ctx.mount.type, ...ctx.otherTypes].join(","))}`
          : undefined;
  if (what !== undefined) {
    throw new PlanError(`${ctx.action}: tmpcopyup fills a new tmpfs with a copy of the directory it is mounted over, not ${what}`, {
      hint: "use tmpcopyup on a tmpfs entry, or drop it",
    });
  }
  const [major, minor] = ctx.facts.version;
  if (major < OPENAT2_VERSION[0] || (major === OPENAT2_VERSION[0] && minor < OPENAT2_VERSION[1])) {
    throw new NotSupportedError(`${ctx.action}: tmpcopyup copies through openat2(2) (Linux 5.6); this kernel is ${ctx.facts.release}`);
  }
  if (!(flags & MS.RDONLY)) return ctx;
  return withOptions(ctx, { ...ctx.options, flags: flags & ~MS.RDONLY });
}

/**
 * plan (the tmpfs mount, planned from copyUpContext) with the copy around it: the directory
 * opened first, copied into the tmpfs, closed; ro made after the copy. Detached where the
 * strategy says so and the mount is one the fd API can make (copy-up-detached.ts), else mounted:
 * copied once the tmpfs is mounted on the target, then the read-only remount ro asked for.
 */
export function withCopyUp(plan: Plan, ctx: MountContext): Plan {
  const { target, options } = ctx;
  const given = (key: string) => options.data.some((item) => item.startsWith(`${key}=`));
  const source: CopyUpSourceStep = { op: "copy-up-source", slot: COPY_UP_SLOT, target };
  const copy: CopyUpStep = { op: "copy-up", slot: COPY_UP_SLOT, target, rootMode: !given("mode"), rootUid: !given("uid"), rootGid: !given("gid") };
  if (copyUpStrategy(ctx.facts) === "detached") {
    const detached = detachedCopyUp(plan, ctx, source, copy);
    if (detached !== undefined) return detached;
  }
  const steps = [source, ...plan.steps, copy, { op: "close" as const, slot: COPY_UP_SLOT }];
  if (options.flags & MS.RDONLY) steps.push(readOnlyRemount(target, options.flags));
  return planFor(ctx, steps);
}

/** The filled tmpfs made read-only: its per-mount flags again, with MS_RDONLY. */
function readOnlyRemount(target: string, flags: number): MountStep {
  return {
    op: "mount",
    role: "bind-remount",
    source: null,
    target,
    fstype: null,
    flags: MS.REMOUNT | MS.BIND | (flags & MS_PER_MOUNT) | MS.RDONLY,
    data: null,
    inheritFlags: 0,
    undoable: false,
  };
}

const q = JSON.stringify;
const OPEN_FLAGS = "O_RDONLY|O_DIRECTORY|O_CLOEXEC";

/** What the tmpfs root takes of the directory, for dry runs: "owner, group, mode, xattrs, timestamps". */
function rootTakes(step: CopyUpStep): string {
  const parts = [...(step.rootUid ? ["owner"] : []), ...(step.rootGid ? ["group"] : []), ...(step.rootMode ? ["mode"] : []), "xattrs", "timestamps"];
  return parts.join(", ");
}

export function formatCopyUpSourceStep(step: CopyUpSourceStep): string {
  return `$${step.slot} = open(${q(step.target)}, ${OPEN_FLAGS})  [tmpcopyup: the directory, before the tmpfs covers it]`;
}

export function formatCopyUpStep(step: CopyUpStep): string {
  const into = step.into === undefined ? `open(${q(step.target)}, ${OPEN_FLAGS})` : `$${step.into}`;
  return (
    `copy $${step.slot} into ${into}  [tmpcopyup: each entry by openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV), ` +
    `no link followed: files (holes kept), directories, symlinks as links, fifos, device nodes, with owner, mode, timestamps, xattrs; ` +
    `sockets and the files of other mounts left out; the tmpfs root takes the directory's ${rootTakes(step)}]`
  );
}

export function describeCopyUpSourceStep(step: CopyUpSourceStep): Record<string, unknown> {
  return { op: step.op, syscall: "open", args: { path: step.target, flags: OPEN_FLAGS }, result: `$${step.slot}` };
}

export function describeCopyUpStep(step: CopyUpStep): Record<string, unknown> {
  return {
    op: step.op,
    syscalls: ["open", "getdents64", "openat2", "statx", "mkdirat", "sendfile", "symlinkat", "readlinkat", "mknodat", "fchownat", "chmod", "listxattr", "getxattr", "setxattr", "utimensat"],
    args: step.into === undefined ? { from: `$${step.slot}`, to: step.target, flags: OPEN_FLAGS } : { from: `$${step.slot}`, to: `$${step.into}`, target: step.target },
    root: { mode: step.rootMode, uid: step.rootUid, gid: step.rootGid },
  };
}
