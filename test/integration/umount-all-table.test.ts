// A link named umount: `umount -a` unmounts the mount table, as umount(8) and busybox do (not
// the fstab's mount points, as `mountkit umount -a` does). It runs in a namespace of its own
// (unshare -m inside this test's), so what it unmounts there leaves this process's mounts be.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";
import { UMOUNT_ALL_DEFAULT_TYPES } from "../../src/ops/unmount-table.ts";
import { matchFstype } from "../../src/plan/fstab.ts";
import { BINARY } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

/** Run script in a new private mount namespace with $UMOUNT the link; its stdout split at MARK. */
function inOwnNamespace(script: string, env: Record<string, string>): { code: number; parts: string[]; stderr: string } {
  const run = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, ...env } });
  return { code: run.exitCode ?? -1, parts: run.stdout.toString().split("@@MARK@@\n"), stderr: run.stderr.toString() };
}

/** The mount path is on in table: the one at the deepest mount point above it (the top one of a stack). */
function mountHolding(table: readonly MountInfo[], path: string): MountInfo | undefined {
  const above = table.filter((m) => path === m.mountpoint || path.startsWith(m.mountpoint === "/" ? "/" : `${m.mountpoint}/`));
  return above.reduce<MountInfo | undefined>((deepest, m) => (deepest === undefined || m.mountpoint.length >= deepest.mountpoint.length ? m : deepest), undefined);
}

/** A fresh scratch dir with a link named umount to the binary, and a directory `a` to mount on. */
function setUp(label: string): { umount: string; a: string } {
  ws.fresh(label);
  const umount = join(ws.dir("bin"), "umount");
  symlinkSync(BINARY, umount);
  return { umount, a: ws.dir("a") };
}

describe("umount -a through a link named umount", () => {
  test("-t tmpfs: every tmpfs in the table goes, nested ones first; other types stay, and so do the mounts holding them, tried and busy (exit 32, as umount(8))", () => {
    const { umount, a } = setUp("umount-a-table");
    const script = `
      set -e
      mount -t tmpfs outer "$A"; mkdir "$A/inner" "$A/side"; mount -t tmpfs inner "$A/inner"
      mount -t ramfs keep "$A/side"
      cat /proc/self/mountinfo; echo @@MARK@@
      set +e
      "$UMOUNT" -a -t tmpfs -v; echo "exit=$?"; echo @@MARK@@
      cat /proc/self/mountinfo`;
    const { code, parts, stderr } = inOwnNamespace(script, { A: a, UMOUNT: umount });
    // -v logs each umount2 call on stderr; the others there are the EBUSY of mounts holding others
    const busy = (path: string) => `mountkit: unmount ${path}: umount2(2): EBUSY (Device or resource busy)`;
    const lines = stderr.split("\n").filter(Boolean);
    expect(lines.filter((line) => !line.startsWith("mountkit: umount2(") && !/^mountkit: unmount \S+: umount2\(2\): EBUSY /.test(line))).toEqual([]);
    expect(stderr).toContain(`mountkit: umount2(${JSON.stringify(join(a, "inner"))}, 0)`);
    // outer was tried once (not the EBUSY retries), after inner
    expect(lines.filter((line) => line === `mountkit: umount2(${JSON.stringify(a)}, 0)`)).toHaveLength(1);
    expect(lines).toContain(busy(a));
    expect(code).toBe(0);
    const [before, output, after] = parts as [string, string, string];
    const beforeTable = parseMountInfo(before);
    const afterTable = parseMountInfo(after);
    const tmpfsBefore = beforeTable.filter((m) => m.fstype === "tmpfs").map((m) => m.mountpoint);
    expect(tmpfsBefore).toEqual(expect.arrayContaining([a, join(a, "inner")]));
    // inner went; outer stays, holding the ramfs on side, which -t tmpfs leaves
    const at = (table: typeof afterTable, path: string) => table.filter((m) => m.mountpoint === path).map((m) => m.fstype);
    expect(at(afterTable, join(a, "inner"))).toEqual([]);
    expect(at(afterTable, a)).toEqual(["tmpfs"]);
    expect(at(afterTable, join(a, "side"))).toEqual(["ramfs"]);
    // every tmpfs left was said to be busy, and holds a mount of another type, or is where this
    // test runs from (a checkout on tmpfs: the shell's working directory, the binary); no other type went
    const runFrom = [process.cwd(), BINARY].map((path) => mountHolding(afterTable, path)?.id);
    for (const m of afterTable.filter((m) => m.fstype === "tmpfs")) {
      expect({ left: m.mountpoint, holds: afterTable.some((c) => c.parent === m.id) || runFrom.includes(m.id) }).toEqual({ left: m.mountpoint, holds: true });
      expect(lines).toContain(busy(m.mountpoint));
    }
    expect(afterTable.filter((m) => m.fstype !== "tmpfs").length).toBe(beforeTable.filter((m) => m.fstype !== "tmpfs").length);
    expect(output).toContain(`umount -a: ${join(a, "inner")}: `);
    expect(output).toContain("exit=32");
    // this process's namespace never saw any of it
    expect(mountsUnder(a)).toEqual([]);
  });

  test("-O: only the mounts whose options match, per-mount (ro) or the superblock's as the table shows them (size=2048k)", () => {
    const { umount, a } = setUp("umount-a-test-opts");
    const script = `
      set -e
      mkdir "$A/ro" "$A/rw" "$A/sized" "$A/other"
      mount -t tmpfs -o ro,size=1m picked-ro "$A/ro"; mount -t tmpfs -o size=1m rw "$A/rw"
      mount -t tmpfs -o size=2m picked-size "$A/sized"; mount -t tmpfs -o size=3m other "$A/other"
      # both must match (as mount -a -O); the size keeps the machine's read-only tmpfs mounts out
      "$UMOUNT" -a -t tmpfs -O ro,size=1024k; echo @@MARK@@
      cat /proc/self/mountinfo; echo @@MARK@@
      "$UMOUNT" -a -t tmpfs -O size=2048k; echo @@MARK@@
      cat /proc/self/mountinfo`;
    const { code, parts, stderr } = inOwnNamespace(script, { A: a, UMOUNT: umount });
    expect([code, stderr]).toEqual([0, ""]);
    const sourcesUnder = (table: string) => parseMountInfo(table).filter((m) => m.mountpoint.startsWith(`${a}/`)).map((m) => m.source);
    expect(sourcesUnder(parts[1]!)).toEqual(["rw", "picked-size", "other"]);
    expect(sourcesUnder(parts[3]!)).toEqual(["rw", "other"]);
    expect(mountsUnder(a)).toEqual([]);
  });

  test("-r: a mount that stays busy is remounted read-only (warned, exit 0), the rest unmounted", () => {
    const { umount, a } = setUp("umount-a-r");
    // Only this test's mounts (-O picks their size, which no mount of the machine has): the
    // remount of a busy one is its superblock's, seen in every namespace. With -t tmpfs alone it
    // remounted every tmpfs kept busy here by a mount of another type under it read-only for the
    // whole machine: /run with a ramfs under it (systemd's /run/credentials), /tmp on tmpfs.
    const script = `
      set -e
      mount -t tmpfs -o size=1028k outer "$A"; mkdir "$A/busy" "$A/free"
      mount -t tmpfs -o size=1028k busy "$A/busy"; mount -t tmpfs -o size=1028k free "$A/free"
      (cd "$A/busy" && exec sleep 600) & holder=$!
      trap 'kill $holder' EXIT # whatever happens: it holds this namespace and its mounts
      while [ "$(readlink /proc/$holder/cwd)" != "$A/busy" ]; do sleep 0.01; done
      set +e
      "$UMOUNT" -a -r -t tmpfs -O size=1028k; echo "exit=$?"; echo @@MARK@@
      cat /proc/self/mountinfo`;
    const { code, parts, stderr } = inOwnNamespace(script, { A: a, UMOUNT: umount });
    expect(code).toBe(0);
    const [output, after] = parts as [string, string];
    expect(output).toBe("exit=0\n");
    expect(stderr).toContain(`${join(a, "busy")}: busy - remounted read-only`);
    const table = parseMountInfo(after);
    // the busy one stays, read-only; its parent holds it; the free one went
    const busy = table.filter((m) => m.mountpoint === join(a, "busy"));
    expect(busy.map((m) => [m.source, m.options.split(",")[0]])).toEqual([["busy", "ro"]]);
    expect(table.some((m) => m.mountpoint === join(a, "free"))).toBe(false);
    expect(table.some((m) => m.mountpoint === a)).toBe(true);
  });

  test("without -t: all but the kernel's own filesystems (proc, sysfs, devpts, ...) and what holds them", () => {
    const { umount, a } = setUp("umount-a-all");
    const script = `
      mount -t tmpfs mine "$A"
      "$UMOUNT" -a --json > "$A.json" 2>/dev/null; echo "exit=$?"; echo @@MARK@@
      cat /proc/self/mountinfo`;
    const { parts } = inOwnNamespace(script, { A: a, UMOUNT: umount });
    const [output, after] = parts as [string, string];
    // What this namespace held from the host differs between machines, and so may what stays
    // busy; the exit code must say what the report does, and our tmpfs must be among the gone.
    const report = JSON.parse(readFileSync(`${a}.json`, "utf8")) as { exitCode: number; results: { target: string; ok: boolean; status?: string; error?: { syscall?: string } }[] };
    const failed = report.results.filter((r) => !r.ok);
    expect(output).toBe(`exit=${report.exitCode}\n`);
    // umount(8) -a ORs its mounts' codes: 32 when any failed, never 64
    expect(report.exitCode).toBe(failed.length === 0 ? 0 : 32);
    expect(report.results).toContainEqual(expect.objectContaining({ target: a, ok: true, status: "unmounted" }));
    for (const r of failed) expect(r.error?.syscall).toBe("umount2(2)");
    const table = parseMountInfo(after);
    expect(table.some((m) => m.mountpoint === a)).toBe(false);
    // what is left is a kernel filesystem, one the report names as failed (busy: where this
    // test's files are, /tmp or the checkout, when that is a mount of its own), or a mount that
    // holds one (its parent chain)
    const stayed = new Set(failed.map((r) => r.target));
    const kept = table.filter((m) => !matchFstype(m.fstype, UMOUNT_ALL_DEFAULT_TYPES) || stayed.has(m.mountpoint));
    expect(kept.length).toBeGreaterThan(0); // /proc at least: the script read it
    const holds = (m: (typeof table)[number]): boolean => kept.includes(m) || table.some((c) => c.parent === m.id && c.id !== m.id && holds(c));
    for (const m of table) expect(holds(m)).toBe(true);
  });
});
