/**
 * What the planner needs to know about the running kernel and process. Probed once per
 * process by ops/features.ts; plain data here so that plans stay pure and testable.
 */
import { PlanError, shownValue } from "../errors.ts";
import { requireObject, requireString } from "./caller-input.ts";

export type Strategy = "fd" | "legacy";

export interface KernelFacts {
  /** uname release, e.g. "6.18.44" */
  readonly release: string;
  readonly version: readonly [major: number, minor: number, patch: number];
  /** bytes, MIN_PAGE_SIZE or more; mount(2) copies at most one page of data */
  readonly pageSize: number;
  /** true inside a user namespace other than the initial one (locked mount flags apply) */
  readonly inUserNamespace: boolean;
  /** open_tree, move_mount, fsopen, fsconfig, fsmount (5.2) */
  readonly mountApi: boolean;
  /** mount_setattr with MOUNT_ATTR_IDMAP (5.12) */
  readonly mountSetattr: boolean;
  /** overlay accepts repeated `lowerdir+` and `datadir+` (6.8) */
  readonly overlayLowerdirAppend: boolean;
  /** overlay takes O_PATH fds as layers (FSCONFIG_SET_FD: layers by fd 6.13, O_PATH fds 6.15) */
  readonly overlayLayerFd: boolean;
  /** LOOP_CONFIGURE (5.8) */
  readonly loopConfigure: boolean;
  /** statx STATX_MNT_ID (5.8) */
  readonly statxMountId: boolean;
  /** statmount(2), and statx STATX_MNT_ID_UNIQUE for the IDs it takes (6.8) */
  readonly statmount: boolean;
  /**
   * erofs mounts an image from a regular file, no loop device (6.12; only with
   * CONFIG_EROFS_FS_BACKED_BY_FILE, so it is tried: plan/erofs-file.ts)
   */
  readonly erofsFileBacked: boolean;
  /** the strategy for mounts that have two: from MOUNTKIT_STRATEGY, else the best the kernel has */
  readonly strategy: Strategy;
  /** where MOUNTKIT_STRATEGY came from, for `features` */
  readonly strategySource: "environment" | "kernel";
}

/**
 * The smallest page Linux has on the architectures mountkit runs on (x86_64's only size, arm64's
 * smallest): data within it fits the page of any kernel, and needs no look at facts.pageSize.
 */
export const MIN_PAGE_SIZE = 4096;

/** Facts for a kernel version, with the feature bits derived from it. */
export function factsForVersion(
  release: string,
  extra: { pageSize?: number; inUserNamespace?: boolean; strategy?: Strategy } = {},
): KernelFacts {
  checkFactsRequest(release, extra);
  const version = parseKernelRelease(release);
  const atLeast = (major: number, minor: number) =>
    version[0] > major || (version[0] === major && version[1] >= minor);
  const overlayLowerdirAppend = atLeast(6, 8);
  return {
    release,
    version,
    pageSize: extra.pageSize ?? 4096,
    inUserNamespace: extra.inUserNamespace ?? false,
    mountApi: atLeast(5, 2),
    mountSetattr: atLeast(5, 12),
    overlayLowerdirAppend,
    overlayLayerFd: atLeast(6, 15),
    loopConfigure: atLeast(5, 8),
    statxMountId: atLeast(5, 8),
    statmount: atLeast(6, 8),
    erofsFileBacked: atLeast(6, 12),
    strategy: extra.strategy ?? (overlayLowerdirAppend ? "fd" : "legacy"),
    strategySource: extra.strategy ? "environment" : "kernel",
  };
}

/** factsForVersion's arguments, of their kinds: a number as release was kernel 0.0.0, a "4096" pageSize a string in every plan. */
function checkFactsRequest(release: unknown, extra: unknown): void {
  const action = "facts for version";
  requireString(release, "release", action);
  requireObject(extra, "extra", action);
  const { pageSize, inUserNamespace, strategy } = extra as { pageSize?: unknown; inUserNamespace?: unknown; strategy?: unknown };
  // no smaller: checkDataSize (plan/plain.ts) lets data within MIN_PAGE_SIZE pass unasked
  if (pageSize !== undefined && (!Number.isSafeInteger(pageSize) || (pageSize as number) < MIN_PAGE_SIZE)) {
    throw new PlanError(`${action}: extra.pageSize must be a whole number of bytes from ${MIN_PAGE_SIZE}, got ${shownValue(pageSize)}`);
  }
  if (inUserNamespace !== undefined && typeof inUserNamespace !== "boolean") throw new PlanError(`${action}: extra.inUserNamespace must be true or false, got ${shownValue(inUserNamespace)}`);
  if (strategy !== undefined && strategy !== "fd" && strategy !== "legacy") throw new PlanError(`${action}: extra.strategy must be "fd" or "legacy", got ${shownValue(strategy)}`);
}

/** MOUNTKIT_STRATEGY=legacy was set: the old way everywhere there are two, not only where the kernel lacks the new one. */
export function legacyForced(facts: KernelFacts): boolean {
  return facts.strategy === "legacy" && facts.strategySource === "environment";
}

/** "6.18.44-fc-v669" -> [6, 18, 44]; missing parts are 0. */
export function parseKernelRelease(release: string): [number, number, number] {
  // read by hand, as /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/ would: every mount, umount and apply
  // probes the release, and a regular expression's first use costs more than the walk
  const parts: [number, number, number] = [0, 0, 0];
  let at = 0;
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      if (release.charCodeAt(at) !== DOT || !isDigit(release.charCodeAt(at + 1))) break;
      at++;
    }
    const start = at;
    while (isDigit(release.charCodeAt(at))) at++;
    if (at === start) break;
    parts[part] = Number(release.slice(start, at));
  }
  return parts;
}

const DOT = 0x2e;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** MOUNTKIT_STRATEGY's value, validated; undefined when unset or empty. */
export function parseStrategy(value: string | undefined): Strategy | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "fd" || value === "legacy") return value;
  throw new PlanError(`MOUNTKIT_STRATEGY: expected "fd" or "legacy", got ${JSON.stringify(value)}`);
}
