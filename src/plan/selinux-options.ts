/**
 * SELinux's mount options (context=, fscontext=, defcontext=, rootcontext=, seclabel) on a
 * host without SELinux: libmount drops them before the mount (hook_selinux.c, "always remove
 * SELinux garbage if SELinux disabled"), so an fstab written for a SELinux host mounts
 * anywhere. The kernel would refuse them: with no LSM taking them they reach the filesystem,
 * which answers EINVAL ("tmpfs: Unknown parameter 'context'"). Pure: whether SELinux runs is
 * PlanEnv's question, asked only when an option is one of these.
 */
import { entryOptions, unquoteOption } from "./options.ts";

const SELINUX_OPTIONS: ReadonlySet<string> = new Set(["context", "fscontext", "defcontext", "rootcontext", "seclabel"]);

/** Whether a Mount.options entry may hold a SELinux option: a cheap test, so other entries are not split. */
export function mayHoldSelinuxOption(entry: string): boolean {
  return entry.includes("context=") || entry.includes("seclabel");
}

/**
 * options as this host takes them: without their SELinux items when selinuxEnabled says SELinux
 * does not run (asked only when an entry may hold one), else options itself. Every reader of a
 * request's options for the kernel goes through it: the plan (mountContext), and the batch's
 * checks before it (a bind's options, the filesystem parameters fsconfig is asked about), which
 * would otherwise refuse what the mount drops.
 */
export function selinuxOptionsForHost(options: readonly string[], selinuxEnabled: (() => boolean) | undefined): readonly string[] {
  if (selinuxEnabled === undefined || !options.some(mayHoldSelinuxOption) || selinuxEnabled()) return options;
  return withoutSelinuxOptions(options);
}

/** options without their SELinux items (an entry holding others is written again without them); options itself when none is one. */
export function withoutSelinuxOptions(options: readonly string[]): readonly string[] {
  let kept: string[] | undefined;
  for (let i = 0; i < options.length; i++) {
    const entry = options[i]!;
    if (!mayHoldSelinuxOption(entry)) {
      kept?.push(entry);
      continue;
    }
    const items = entryOptions(entry);
    const others = items.filter((item) => !isSelinuxOption(item));
    if (others.length === items.length) {
      kept?.push(entry);
      continue;
    }
    kept ??= options.slice(0, i);
    if (others.length > 0) kept.push(others.join(","));
  }
  return kept ?? options;
}

function isSelinuxOption(item: string): boolean {
  const text = unquoteOption(item);
  const equals = text.indexOf("=");
  return SELINUX_OPTIONS.has(equals === -1 ? text : text.slice(0, equals));
}
