/**
 * apply of 100 entries: a containerd mount list (tmpfs and binds, alternating) mounted as one
 * batch under a root, then released (unmounted newest first). The library runs applyText() in
 * this process; the CLI contenders are one `mountkit apply` plus one `mountkit umount` of the
 * mount points newest first (umount -R takes a mount point, and the root is none),
 * against 100 `mount` and 100 `umount` processes of util-linux or busybox.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyText } from "../../ops/apply.ts";
import type { Mount } from "../../plan/mount-request.ts";
import type { CliCommand, PreparedWorkload, Workload } from "../workload.ts";
import { always, makeDir } from "./common.ts";

export const APPLY_ENTRIES = 100;

/** Entry i (from 1): odd ones a small tmpfs, even ones a bind of source. */
function entry(i: number, source: string): Mount {
  return i % 2 ? { type: "tmpfs", source: `bench-${i}`, target: `/m${i}`, options: ["size=64k"] } : { type: "bind", source, target: `/m${i}`, options: ["bind"] };
}

/** The mount(8) commands that mount the entries one by one, then unmount them newest first. */
function perMountCommands(mounts: readonly Mount[], root: string): CliCommand[] {
  const mounted = mounts.map((m): CliCommand => ["mount", "-t", m.type === "bind" ? "none" : m.type, "-o", m.options.join(","), m.source, join(root, m.target!)]);
  const unmounted = mounts.map((m): CliCommand => ["umount", join(root, m.target!)]).reverse();
  return [...mounted, ...unmounted];
}

const apply100: Workload = {
  name: `apply-${APPLY_ENTRIES}`,
  group: "apply",
  summary: `apply a list of ${APPLY_ENTRIES} mounts (tmpfs and binds) in one batch, release them`,
  unavailable: always,
  setup(dir): PreparedWorkload {
    const root = makeDir(dir, "root");
    const source = makeDir(dir, "source");
    const mounts = Array.from({ length: APPLY_ENTRIES }, (_, k) => entry(k + 1, source));
    for (const m of mounts) makeDir(root, m.target!);
    const text = JSON.stringify(mounts);
    const list = join(dir, "mounts.json");
    writeFileSync(list, text);
    const perMount = perMountCommands(mounts, root);
    return {
      op() {
        const outcome = applyText(text, { root });
        if (outcome.error) throw outcome.error;
        if (outcome.targets.length !== APPLY_ENTRIES) throw new Error(`bench: apply mounted ${outcome.targets.length} of ${APPLY_ENTRIES}`);
        outcome.release();
      },
      c: { mode: "apply", args: [root, source, String(APPLY_ENTRIES)] },
      cli: {
        mountkit: [["apply", "--root", root, list], ["umount", ...mounts.map((m) => join(root, m.target!)).reverse()]],
        "util-linux": perMount,
        busybox: perMount,
      },
    };
  },
};

export const applyWorkloads: readonly Workload[] = [apply100];
