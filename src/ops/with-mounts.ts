/**
 * with-mounts: mount what an apply input lists, run something, take it all down again.
 * The root: --root, else an OCI config's root.path, else a fresh temp dir (withTempMount),
 * in which every target is created.
 */
import { DEFAULT_TARGET_MODE, readOnlyAtTheEnd, withTargetCreated } from "../plan/batch-entry.ts";
import { readonlyMounts } from "../plan/mount-helpers.ts";
import { requireFunction, requireOptionsObject } from "../plan/caller-input.ts";
import { applyRequest, type ApplyOptions } from "./apply.ts";
import { runEntries } from "./batch.ts";
import { opsContext } from "./context.ts";
import { topMountIds, unmountAbove } from "./mounted-above.ts";
import { checkOnBatchWarning, fnAfterWarnings, withBatch, withTempEntries, type TempMountOptions } from "./temp-mount.ts";

export interface WithMountsOptions extends Omit<ApplyOptions, "keepGoing">, Pick<TempMountOptions, "onBatchWarning"> {
  /** every mount read-only (withReadonlyTempMount's rewrite) */
  readonly?: boolean;
}

/** Mount the input's list, call fn(root), unmount; errors joined as withTempMount does. */
export async function withMountsFromText<T>(text: string, options: WithMountsOptions, fn: (root: string) => T | Promise<T>): Promise<T> {
  // before anything is mounted: not a TypeError once the mounts stand
  requireFunction(fn, "fn", "with-mounts");
  requireOptionsObject(options, "with-mounts");
  // undefined, as for every other call's options, is none (it was a TypeError at options.readonly)
  options ??= {};
  checkOnBatchWarning(options);
  // messages about the input name with-mounts, as those of the run do
  const request = applyRequest(text, { action: "with-mounts", ...options });
  const rewrite = (entries: typeof request.input.entries) => {
    if (!options.readonly) return entries;
    const ro = readonlyMounts(entries.map((e) => e.mount));
    return entries.map((e, i) => {
      const rewritten = { ...e, mount: { ...e.mount, options: ro[i]!.options } };
      // where targets are created, a tmpfs (an OCI config's /dev too) is made read-only only
      // once the mount points inside it are (batch-entry.ts readOnlyAtTheEnd)
      return e.createTarget ? readOnlyAtTheEnd(rewritten, request.input.format === "oci") : rewritten;
    });
  };
  if (request.root === undefined) {
    // A fresh temp dir is empty: every target inside it has to be created. Its release
    // takes down every mount on its targets, fn's too. The entries stay as read (their names,
    // nofail): before, they went through withTempMount as bare Mounts and lost nofail.
    const entries = rewrite(request.input.entries).map((e) => (e.createTarget ? e : withTargetCreated(e, { mode: DEFAULT_TARGET_MODE })));
    return withTempEntries(entries, fn, options);
  }
  const outcome = runEntries(rewrite(request.input.entries), request.root, { ...options, action: request.action });
  if (outcome.error) throw outcome.error;
  // A root that was there before: only what fn stacked on our mounts comes off with them.
  const ours = topMountIds(outcome.targets);
  const release = () => {
    try {
      unmountAbove(ours, outcome.root, opsContext(options));
    } finally {
      // our own mounts come off even where what fn stacked on one could not (that target's
      // undo then fails the same way, and says so)
      outcome.release();
    }
  };
  return withBatch({ ...outcome, release }, () => fnAfterWarnings(outcome, options, () => fn(outcome.root)));
}
