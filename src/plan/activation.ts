/**
 * containerd's mount transformers (the mount manager of containerd 2.2, core/mount/manager),
 * planned. A type with a prefix such as "format/mkdir/overlay" asks for transforms before the
 * mount, applied in the order they are written:
 *
 *   format/   {{ mount N }}, {{ source N }}, {{ target N }} and {{ overlay N M }} in the
 *             source, target and options filled from the mounts before it (N counts from 0)
 *   mkdir/    each X-containerd.mkdir.path=DIR[:MODE[:UID:GID]] option taken out and DIR
 *             created (mode 0700 by default, as containerd), before the mount
 *   mkfs/     the X-containerd.mkfs.* options taken out, and the source, a filesystem image,
 *             made when it does not exist (plan/mkfs.ts)
 *
 * and a temp mount of type "loop" is containerd's loop handler: its source attached to a loop
 * device, and {{ mount N }} a symlink to the device, which a later mount of the list mounts. A
 * temp mount of type "erofs" is containerd's erofs handler's: the image mounted from the file
 * itself where the kernel can, loop devices only where it cannot (plan/erofs-file.ts).
 *
 * Everything before the last mount with a transform is mounted on a directory of its own in a
 * temp dir (what {{ mount N }} names); that mount and those after it are the list's real
 * mounts, made on their targets. Snapshotters such as containerd's erofs one return such lists:
 * layer images mounted by the manager, then an overlay of them.
 *
 * Unlike containerd's manager, which keeps the temp mounts (and a database of them) until the
 * activation is removed, mountkit detaches them once the real mounts stand: overlay layers and
 * bind sources hold their own references, so nothing but the real mounts is left to release;
 * a loop handler's device is attached with autoclear, so it goes with the last mount of it. Pure.
 */
import { PlanError, quotePath } from "../errors.ts";
import type { BatchEntry } from "./batch-entry.ts";
import type { Mount } from "./mount-request.ts";
import { takeMkfsOptions, type MkfsAction } from "./mkfs.ts";
import { EROFS_HANDLER_TYPE } from "./erofs-file.ts";

export const KNOWN_TRANSFORMS = ["format", "mkdir", "mkfs"] as const;
type Transform = (typeof KNOWN_TRANSFORMS)[number];

const MKDIR_OPTION = "X-containerd.mkdir.";
const MKDIR_PATH_OPTION = `${MKDIR_OPTION}path=`;
/** containerd's mkdir transformer's default mode */
export const MKDIR_DEFAULT_MODE = 0o700;

/** A directory an X-containerd.mkdir.path option asks for, inside a temp mount. */
export interface MkdirAction {
  /** the temp mount's mount point it lies in */
  readonly root: string;
  /** the path below root ("upper", "a/b"): created beneath it, never through a symlink out of it */
  readonly below: string;
  readonly mode: number;
  /** undefined: the caller's own (containerd's default) */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** the option, for messages */
  readonly option: string;
}

/** containerd's loop handler: the source attached to a loop device (autoclear), and a symlink to it. */
export interface LoopHandler {
  readonly readOnly: boolean;
  readonly directIo: boolean;
}

/** The type containerd's loop handler takes. */
export const LOOP_HANDLER_TYPE = "loop";

/** A mount made on a directory of the activation's temp dir. */
export interface TempMount {
  readonly entry: BatchEntry;
  readonly mount: Mount;
  /** where it is mounted: a directory in the temp dir ({{ mount N }}); a loop handler's symlink */
  readonly mountPoint: string;
  /** made before the mount */
  readonly mkdirs: readonly MkdirAction[];
  /** the image made before the mount, when it does not exist (mkfs/) */
  readonly mkfs: MkfsAction | undefined;
  /** set when this is containerd's loop handler rather than a mount */
  readonly loop: LoopHandler | undefined;
  /** containerd's erofs handler mounts it: from the image file itself first (plan/erofs-file.ts) */
  readonly erofs: boolean;
}

export interface Activation {
  /** the directory the temp mounts go in (created by the caller, 0700) */
  readonly tempDir: string;
  readonly temp: readonly TempMount[];
  /** the list's real mounts, transformed: mounted on their targets as a batch */
  readonly system: readonly BatchEntry[];
  /** the first real mount's directories, made before it */
  readonly systemMkdirs: readonly MkdirAction[];
  /** the first real mount's image, made before it when it does not exist (mkfs/) */
  readonly systemMkfs: MkfsAction | undefined;
}

/** Whether a type asks for a transform: filesystem types never hold a "/". */
export function hasTransform(type: string): boolean {
  return type.includes("/");
}

/**
 * The activation of a list, or undefined when no entry has a transform. tempDir is where the
 * temp mounts go; every X-containerd.mkdir.path must lie inside one of the mounts made before
 * it, or beneath one of mkdirRoots (canonical absolute paths the caller allows, as containerd's
 * manager allows its target dir and its WithAllowedRoot roots: the containerd root). A
 * PlanError names the entry.
 */
export function planActivation(entries: readonly BatchEntry[], tempDir: string, mkdirRoots: readonly string[] = []): Activation | undefined {
  let last = -1;
  const chains = entries.map((entry, i) => {
    const chain = transformsOf(entry);
    if (chain.transforms.length > 0) last = i;
    return chain;
  });
  if (last === -1) return undefined;

  // containerd names the mount points in cleanup order: the last temp mount is "1"
  const temp: TempMount[] = [];
  const active: { readonly source: string; readonly target: string; readonly mountPoint: string }[] = [];
  for (let i = 0; i < last; i++) {
    const entry = entries[i]!;
    const { mount, mkdirs, mkfs } = transformed(entry, chains[i]!, active, mkdirRoots);
    const mountPoint = `${tempDir}/${last - i}`;
    const loop = mount.type === LOOP_HANDLER_TYPE ? loopHandler(mount.options) : undefined;
    temp.push({ entry, mount, mountPoint, mkdirs, mkfs, loop, erofs: mount.type === EROFS_HANDLER_TYPE });
    active.push({ source: mount.source, target: entry.mount.target, mountPoint });
  }
  const first = entries[last]!;
  const { mount, mkdirs, mkfs } = transformed(first, chains[last]!, active, mkdirRoots);
  const system = [{ ...first, mount: { ...mount, target: mount.target ?? "" } }, ...entries.slice(last + 1)];
  for (const entry of system) {
    if (entry.mount.type !== LOOP_HANDLER_TYPE) continue;
    throw new PlanError(`${entry.where}: type "loop" (containerd's loop handler) makes a loop device for a later mount of the list, and this one has none after it`, {
      hint: 'follow it with the mount of the device, e.g. {"type": "format/ext4", "source": "{{ mount N }}"}, or mount the image with the loop option',
    });
  }
  return { tempDir, temp, system, systemMkdirs: mkdirs, systemMkfs: mkfs };
}

/** containerd's loop handler reads two options: ro and direct-io; it ignores the rest. */
function loopHandler(options: readonly string[]): LoopHandler {
  return { readOnly: options.includes("ro"), directIo: options.includes("direct-io") };
}

interface Chain {
  readonly transforms: readonly Transform[];
  /** the filesystem type once the prefixes are taken off */
  readonly type: string;
}

function transformsOf(entry: BatchEntry): Chain {
  const parts = entry.mount.type.split("/");
  const type = parts.pop()!;
  const transforms = parts.map((name) => {
    if ((KNOWN_TRANSFORMS as readonly string[]).includes(name)) return name as Transform;
    const hint = `known transforms: ${KNOWN_TRANSFORMS.map((t) => `${t}/`).join(", ")}`;
    throw new PlanError(`${entry.where}: unknown mount transform ${JSON.stringify(name)} in type ${JSON.stringify(entry.mount.type)}`, { hint });
  });
  if (transforms.length > 0 && type === "") throw new PlanError(`${entry.where}: type ${JSON.stringify(entry.mount.type)} names no filesystem type after its transforms`);
  return { transforms, type };
}

function transformed(
  entry: BatchEntry,
  chain: Chain,
  active: readonly { source: string; target: string; mountPoint: string }[],
  mkdirRoots: readonly string[],
): { mount: Mount; mkdirs: MkdirAction[]; mkfs: MkfsAction | undefined } {
  let mount: Mount = { type: chain.type, source: entry.mount.source, target: entry.mount.target, options: [...entry.mount.options] };
  const mkdirs: MkdirAction[] = [];
  let mkfs: MkfsAction | undefined;
  try {
    for (const transform of chain.transforms) {
      if (transform === "format") mount = formatted(mount, active);
      else if (transform === "mkdir") {
        const taken = takeMkdirOptions(mount.options, active.map((a) => a.mountPoint), mkdirRoots);
        mkdirs.push(...taken.mkdirs);
        mount = { ...mount, options: taken.options };
      } else {
        if (mkfs !== undefined) throw new PlanError(`type ${JSON.stringify(entry.mount.type)} asks for mkfs/ twice`);
        const taken = takeMkfsOptions(mount.source, mount.options);
        mkfs = taken.mkfs;
        mount = { ...mount, options: taken.options };
      }
    }
  } catch (err) {
    if (err instanceof PlanError) throw new PlanError(`${entry.where}: ${err.message}`, { cause: err, ...(err.hint ? { hint: err.hint } : {}) });
    throw err;
  }
  return { mount, mkdirs, mkfs };
}

function formatted(mount: Mount, active: readonly { source: string; target: string; mountPoint: string }[]): Mount {
  return {
    type: mount.type,
    source: fillTemplates(mount.source, active, "source"),
    target: fillTemplates(mount.target ?? "", active, "target"),
    options: mount.options.map((o) => fillTemplates(o, active, `option ${JSON.stringify(o)}`)),
  };
}

const TEMPLATE = /\{\{-?\s*([^{}]*?)\s*-?\}\}/g;

/**
 * s with each {{ ... }} replaced by what it names among the active (temp) mounts, as
 * containerd's format transformer does with Go templates; only its four functions exist.
 */
export function fillTemplates(s: string, active: readonly { source: string; target: string; mountPoint: string }[], what: string): string {
  if (!s.includes("{{")) return s;
  const filled = s.replace(TEMPLATE, (_, body: string) => {
    const words = body.split(/\s+/);
    const [fn, ...args] = words;
    const index = (arg: string | undefined) => {
      if (arg === undefined || !/^-?\d+$/.test(arg)) throw new PlanError(`${what}: {{ ${body} }}: ${fn} takes mount numbers`);
      const n = Number(arg);
      if (n < 0 || n >= active.length) throw new PlanError(`${what}: {{ ${body} }}: index out of bounds: ${n}, has ${active.length} active mounts`);
      return n;
    };
    const arity = fn === "overlay" ? 2 : 1;
    if (args.length !== arity && ["source", "target", "mount", "overlay"].includes(fn!)) {
      throw new PlanError(`${what}: {{ ${body} }}: ${fn} takes ${arity} mount number${arity === 1 ? "" : "s"}`);
    }
    switch (fn) {
      case "source":
        return active[index(args[0])]!.source;
      case "target":
        return active[index(args[0])]!.target;
      case "mount":
        return active[index(args[0])]!.mountPoint;
      case "overlay": {
        const [from, to] = [index(args[0]), index(args[1])];
        const step = from <= to ? 1 : -1;
        const dirs: string[] = [];
        for (let i = from; i !== to + step; i += step) dirs.push(active[i]!.mountPoint);
        return dirs.join(":");
      }
      default:
        throw new PlanError(`${what}: unsupported template {{ ${body} }}`, { hint: "containerd's format/ knows {{ mount N }}, {{ source N }}, {{ target N }}, {{ overlay N M }}" });
    }
  });
  if (filled.includes("{{")) throw new PlanError(`${what}: an unclosed template in ${JSON.stringify(s)}`);
  return filled;
}

/**
 * X-containerd.mkdir.path=DIR[:MODE[:UID:GID]] options taken out; the rest kept in order. DIR
 * lies inside one of mountPoints (the earlier temp mounts, looked at first) or beneath one of
 * mkdirRoots.
 */
export function takeMkdirOptions(options: readonly string[], mountPoints: readonly string[], mkdirRoots: readonly string[] = []): { options: string[]; mkdirs: MkdirAction[] } {
  const rest: string[] = [];
  const mkdirs: MkdirAction[] = [];
  for (const option of options) {
    if (!option.startsWith(MKDIR_OPTION)) {
      rest.push(option);
      continue;
    }
    if (!option.startsWith(MKDIR_PATH_OPTION)) throw new PlanError(`invalid mkdir option ${JSON.stringify(option)}: only ${MKDIR_PATH_OPTION}DIR[:MODE[:UID:GID]]`);
    const parts = option.slice(MKDIR_PATH_OPTION.length).split(":");
    if (parts.length === 3 || parts.length > 4) throw new PlanError(`invalid mkdir option ${JSON.stringify(option)}: DIR[:MODE[:UID:GID]]`);
    const [path, mode, uid, gid] = parts as [string, string?, string?, string?];
    if (mode !== undefined && !/^[0-7]{1,4}$/.test(mode)) throw new PlanError(`invalid mkdir option ${JSON.stringify(option)}: mode ${JSON.stringify(mode)} is not an octal mode`);
    if (mode !== undefined && parseInt(mode, 8) > 0o777) throw new PlanError(`invalid mkdir option ${JSON.stringify(option)}: mode ${mode} has bits beyond the permissions`);
    const id = (value: string | undefined, name: string) => {
      if (value === undefined) return undefined;
      if (!/^\d+$/.test(value) || Number(value) > 0xfffffffe) throw new PlanError(`invalid mkdir option ${JSON.stringify(option)}: ${name} ${JSON.stringify(value)}`);
      return Number(value);
    };
    const root = mountPoints.find((mp) => isInside(path, mp)) ?? mkdirRoots.find((dir) => isInside(path, dir));
    if (root === undefined) {
      const roots = mkdirRoots.length === 0 ? "" : `, nor a mkdir root (${mkdirRoots.map(quotePath).join(", ")})`;
      throw new PlanError(`mkdir option ${JSON.stringify(option)}: ${quotePath(path)} is not inside a mount made before this one${roots}`, {
        hint: "name a directory in an earlier mount of the list, as {{ mount N }}/DIR with the format/ transform, or allow a directory it may be made beneath (apply --mkdir-root DIR; the library's mkdirRoots)",
      });
    }
    const below = path.slice(root.length + 1);
    mkdirs.push({ root, below, mode: mode === undefined ? MKDIR_DEFAULT_MODE : parseInt(mode, 8), uid: id(uid, "uid"), gid: id(gid, "gid"), option });
  }
  return { options: rest, mkdirs };
}

/** path is a clean absolute path strictly below dir (no "." or ".." parts, no empty ones). */
function isInside(path: string, dir: string): boolean {
  if (!path.startsWith(`${dir}/`)) return false;
  const below = path.slice(dir.length + 1).split("/");
  return below.every((part) => part !== "" && part !== "." && part !== "..");
}
