/**
 * What callers ask for: containerd's Mount {type, source, target, options}, and the
 * classified view every planner works from. Pure.
 */
import { MountWouldFailError, PlanError, quotePath } from "../errors.ts";
import { checkMount, requirePath } from "./caller-input.ts";
import type { KernelFacts } from "./facts.ts";
import { MS } from "./flags.ts";
import { deviceTagOf, noDeviceWithTag, type DeviceTag } from "./device-tag.ts";
import { classifyOptions, type ClassifiedOptions } from "./options.ts";
import { mayHoldIdOption, withNumericIds } from "./id-options.ts";
import { mayHoldSelinuxOption, selinuxOptionsForHost } from "./selinux-options.ts";
import { parseTypeList } from "./type-list.ts";
import type { Plan, Step } from "./steps.ts";
import type { ExternalHelpers } from "./external-helper.ts";

export interface Mount {
  /** filesystem type; "" with a bind option, or "bind", makes a bind mount */
  readonly type: string;
  readonly source: string;
  /** path inside a root: a batch's (apply, mountAll), or the target mount() is given (containerd's Mount.Target) */
  readonly target?: string;
  readonly options: readonly string[];
}

/** Everything a planner needs, computed once. */
export interface MountContext {
  readonly mount: Mount;
  readonly target: string;
  readonly options: ClassifiedOptions;
  readonly facts: KernelFacts;
  /** "mount tmpfs on /x": the action named in errors */
  readonly action: string;
  /** run-time choices made by ops/ that some plans need */
  readonly env: PlanEnv;
  /** what the source names (env.sourceKind, asked once, on first read; "other" without it) */
  readonly sourceKind: SourceKind;
  /**
   * The types of a type list after the first (mount.type), tried in order when the kernel
   * refuses the one before (plan/type-list.ts); empty for a single type.
   */
  readonly otherTypes: readonly string[];
}

/**
 * What ops/ provides for planning (plans stay pure): run-time choices and look-ups, all
 * optional, each asked only when a planner needs it.
 */
export interface PlanEnv {
  /** a path that does not exist yet, for a plan's temp directory (idmapped overlay lowers) */
  readonly tempDir?: string;
  /**
   * What a source path names, asked only of a new mount whose type is unknown or a block
   * filesystem's (mount(8) mounts an image file through a loop device, and reads a device's
   * type from its superblock). Without it every source counts as "other".
   */
  readonly sourceKind?: (source: string) => SourceKind;
  /**
   * The block device a UUID=/LABEL= source (or its /dev/disk link) names, or undefined when no
   * device has it. Without it such sources are passed on as written.
   */
  readonly deviceOfTag?: (tag: DeviceTag) => string | undefined;
  /**
   * The name mount(2) is given for a block device source: its canonical path, as libmount
   * canonicalizes it (mount -c: as typed). Without it the source goes as written.
   */
  readonly deviceName?: (device: string) => string;
  /**
   * mount -w: read-write was asked explicitly, so a write-protected source is an error rather
   * than a read-only mount (plan/read-only-fallback.ts).
   */
  readonly readWriteOnly?: boolean;
  /**
   * A remount's options are all it gets: no per-mount flag is kept from the mount, as mount(8)
   * keeps none when it reads no mount table (-o remount SOURCE TARGET, or X's fstab line
   * applied to -o remount X). Without it, each flag the options do not mention keeps its value.
   */
  readonly remountReplaces?: boolean;
  /** The uid of a user name (X-mount.owner=NAME, uid=NAME), or undefined when there is none. */
  readonly userId?: (name: string) => number | undefined;
  /** The gid of a group name (X-mount.group=NAME, gid=NAME), or undefined when there is none. */
  readonly groupId?: (name: string) => number | undefined;
  /** The caller's real uid, getuid(2): uid=useruid (plan/id-options.ts). */
  readonly realUserId?: () => number;
  /** The caller's real gid, getgid(2): gid=usergid. */
  readonly realGroupId?: () => number;
  /**
   * Whether the host runs SELinux, asked only of a mount with a SELinux option: without it,
   * the options are dropped as libmount drops them (plan/selinux-options.ts). Without the
   * function they are kept, and the kernel judges them.
   */
  readonly selinuxEnabled?: () => boolean;
  /**
   * util-linux's mount.TYPE helpers, when the caller runs them (mount(8) does; containerd and
   * the library by default run FUSE helpers only): plan/external-helper.ts.
   */
  readonly externalHelpers?: ExternalHelpers;
}

/**
 * A source as the type-less and image mounts see it: a block device, an image file (a regular
 * file of more than IMAGE_MIN_BYTES), a smaller regular file, no file, or else.
 */
export type SourceKind = "block" | "file" | "small-file" | "missing" | "other";

/**
 * libmount's mnt_context_is_loopdev: a regular file gets a loop device without `loop` only when
 * it is larger than this; a smaller one (no filesystem fits) goes to mount(2) as it is.
 */
export const IMAGE_MIN_BYTES = 1024;

/** No type given: "" (and no bind), or mount(8)'s "auto". The device's superblock names it. */
export function isTypeUnknown(type: string): boolean {
  return type === "" || type === "auto";
}

export function mountContext(mount: Mount, target: string, facts: KernelFacts, env: PlanEnv = {}): MountContext {
  // The request as a caller wrote it (JavaScript too): the kind of each field, and no NUL byte.
  // Tested here inline, each option in the loop planning makes anyway (planning's cost is the
  // code it touches: docs/bench.md); checkMount and validatePath name what is wrong.
  if (!isPlainRequest(mount, target)) {
    validatePath("target", target);
    checkMount(mount, "mount");
  }
  let idOptions = false;
  let selinuxOptions = false;
  for (const option of mount.options) {
    if (typeof option !== "string" || option.includes("\0")) checkMount(mount, "mount");
    idOptions ||= mayHoldIdOption(option);
    selinuxOptions ||= mayHoldSelinuxOption(option);
  }
  if (selinuxOptions) {
    const forHost = selinuxOptionsForHost(mount.options, env.selinuxEnabled);
    if (forHost !== mount.options) mount = { ...mount, options: forHost };
  }
  const tag = env.deviceOfTag === undefined ? undefined : deviceTagOf(mount.source);
  if (tag !== undefined) mount = { ...mount, source: taggedDevice(tag, mount, target, env.deviceOfTag!) };
  let options = classifyOptions(mount.options);
  if (idOptions) {
    // uid=NAME, gid=NAME: the ids in their place, for the kernel, helpers and dry runs alike (id-options.ts)
    const request = mount;
    const numeric = withNumericIds(mount.options, env, () => describeAction(request, target, options));
    if (numeric !== mount.options) {
      mount = { ...mount, options: numeric };
      options = classifyOptions(numeric);
    }
  }
  if (!mount.type.includes(",")) return new RequestContext(mount, target, options, facts, env, NO_OTHER_TYPES);
  // A type list: planners see its first type, and the step tries the others after it.
  const [first, ...others] = parseTypeList(mount.type, options, describeAction(mount, target));
  return new RequestContext({ ...mount, type: first! }, target, options, facts, env, others);
}

const NO_OTHER_TYPES: readonly string[] = Object.freeze([]);

/** The device for a UUID=/LABEL= source, as mount(8) finds it; a PlanError when none has it. */
function taggedDevice(tag: DeviceTag, mount: Mount, target: string, find: (tag: DeviceTag) => string | undefined): string {
  const device = find(tag);
  if (device !== undefined) return device;
  throw noDeviceWithTag(tag, describeAction(mount, target));
}

/**
 * The action is described only when an error, -v or --json reads it: a mount that succeeds
 * never does. Classes, not object literals with getters, which cost more than the planning.
 */
class RequestContext implements MountContext {
  #action: string | undefined;
  #sourceKind: SourceKind | undefined;
  constructor(
    readonly mount: Mount,
    readonly target: string,
    readonly options: ClassifiedOptions,
    readonly facts: KernelFacts,
    readonly env: PlanEnv,
    readonly otherTypes: readonly string[],
  ) {}
  get action(): string {
    return (this.#action ??= describeAction(this.mount, this.target, this.options));
  }
  get sourceKind(): SourceKind {
    return (this.#sourceKind ??= this.env.sourceKind?.(this.mount.source) ?? "other");
  }
}

/**
 * ctx with other options, for a planner that plans part of a request through another one.
 * Its action and source kind are ctx's, still asked only when read (a spread would drop them:
 * they are getters).
 */
export function withOptions(ctx: MountContext, options: ClassifiedOptions): MountContext {
  return new OptionsOverride(ctx, options);
}

class OptionsOverride implements MountContext {
  readonly #base: MountContext;
  constructor(base: MountContext, readonly options: ClassifiedOptions) {
    this.#base = base;
  }
  get mount(): Mount {
    return this.#base.mount;
  }
  get target(): string {
    return this.#base.target;
  }
  get facts(): KernelFacts {
    return this.#base.facts;
  }
  get env(): PlanEnv {
    return this.#base.env;
  }
  get otherTypes(): readonly string[] {
    return this.#base.otherTypes;
  }
  get action(): string {
    return this.#base.action;
  }
  get sourceKind(): SourceKind {
    return this.#base.sourceKind;
  }
}

class RequestPlan implements Plan {
  readonly #ctx: MountContext;
  constructor(
    ctx: MountContext,
    readonly steps: readonly Step[],
  ) {
    this.#ctx = ctx;
  }
  get action(): string {
    return this.#ctx.action;
  }
  toJSON(): Plan {
    return { action: this.action, steps: this.steps };
  }
}

/** The plan of a request: its action is taken from ctx when read. */
export function planFor(ctx: MountContext, steps: readonly Step[]): Plan {
  return new RequestPlan(ctx, steps);
}

/**
 * A bind: the "bind" type (containerd#12549) or a bind/rbind option. Takes a MountContext, or
 * a Mount alone ({mount}); options classified already are not classified again.
 */
export function isBind(request: { readonly mount: Mount; readonly options?: ClassifiedOptions }): boolean {
  const { mount, options } = request;
  return mount.type === "bind" || ((options ?? classifyOptions(mount.options)).flags & MS.BIND) !== 0;
}

/**
 * "mount SOURCE on TARGET"; a remount and a propagation change name what they change, as they
 * mount nothing (mount(8) says "cannot remount ..."; "mount X on /m" read as a new mount).
 */
function describeAction(mount: Mount, target: string, options?: ClassifiedOptions): string {
  // a move first: the move planner claims a request with both, and refuses the remount
  if (options !== undefined && options.flags & MS.MOVE) return `move ${quotePath(mount.source)} to ${quotePath(target)}`;
  if (options !== undefined && options.flags & MS.REMOUNT) return `remount ${quotePath(target)}`;
  if (options !== undefined && isPropagationChange(mount, options)) return `change the propagation of ${quotePath(target)}`;
  // no source and no type: the empty source as given (`mount -o loop "" /m`), not a "none" never written
  const what = mount.source || mount.type;
  return `mount ${quotePath(what)} on ${quotePath(target)}`;
}

/**
 * A change of the propagation of the mount at the target, nothing mounted (`mount --make-private
 * /x`): propagation words and no other flag or data, no source and no type. As libmount reads it
 * (mnt_context_propagation_only), "none" names neither (`mount --make-shared none /x`, an fstab
 * line `none /x none rshared`), and "auto" is no type; a type that names a filesystem
 * (`mount -t tmpfs --make-shared /x`) is a new mount of it, whose propagation then changes.
 */
export function isPropagationChange(mount: Mount, options: ClassifiedOptions): boolean {
  return (
    options.propagation.length > 0 &&
    options.flags === 0 &&
    options.data.length === 0 &&
    (mount.source === "" || mount.source === "none") &&
    (isTypeUnknown(mount.type) || mount.type === "none")
  );
}

/** Whether target and mount's fields but its options are what checkMount and validatePath take, in one expression. */
function isPlainRequest(mount: Mount, target: string): boolean {
  return (
    typeof target === "string" &&
    target !== "" &&
    !target.includes("\0") &&
    typeof mount === "object" &&
    mount !== null &&
    typeof mount.type === "string" &&
    typeof mount.source === "string" &&
    Array.isArray(mount.options) &&
    !mount.type.includes("\0") &&
    !mount.source.includes("\0") &&
    (mount.target === undefined || (typeof mount.target === "string" && !mount.target.includes("\0")))
  );
}

export function validatePath(what: string, path: string): void {
  requirePath(path, what, "mount");
  // mount(8) hands "" to the kernel: "mount point does not exist", exit 32
  if (path === "") throw new MountWouldFailError(`mount: empty ${what} path`);
}
