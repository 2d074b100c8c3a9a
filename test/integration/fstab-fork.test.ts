// mount -a -F: the fstab's lines mounted in parallel, a `mountkit mount` process per line; root,
// private mount namespace. Parallelism is shown without timing anything: the lines' mount
// helper (a script of the test's own) waits until every line's helper has started, which
// only lines mounted at the same time can do.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MountFailedError, MountkitError, PlanError } from "../../src/errors.ts";
import { mountFstabForked } from "../../src/ops/fstab-fork.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import type { BatchEntry } from "../../src/plan/batch-entry.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

const ws = workspace();
const { dir } = ws;

/** Unmount everything under d after the test, deepest first (the lines' mounts). */
function unmountUnderAfter(d: string) {
  ws.cleanups.push(() => {
    for (const m of mountsUnder(d).reverse()) expect(runCli(["umount", m.mountpoint]).code).toBe(0);
  });
}

/**
 * mount.rdv: logs "start TARGET", leaves a mark, waits (at most `timeoutSec`) until `parties`
 * marks are there, then mounts a tmpfs on TARGET with the binary itself (-i) and logs "end TARGET".
 * Without the others it exits 1: "no rendezvous".
 */
function rendezvousHelper(parties: number, timeoutSec: number) {
  const helpers = dir("helpers");
  const marks = dir("marks");
  const log = join(helpers, "log");
  writeFileSync(
    join(helpers, "mount.rdv"),
    [
      "#!/bin/sh",
      'src=$1; tgt=$2',
      `echo "start $tgt" >> ${log}`,
      `touch "${marks}/$(basename "$tgt")"`,
      `n=0; while [ "$(ls ${marks} | wc -l)" -lt ${parties} ]; do`,
      `  n=$((n+1)); [ $n -gt ${timeoutSec * 20} ] && { echo "no rendezvous for $tgt" >&2; exit 1; }`,
      "  sleep 0.05",
      "done",
      `${BINARY} mount -i -t tmpfs -o size=1m "$src" "$tgt" || exit 1`,
      `echo "end $tgt" >> ${log}`,
      "",
    ].join("\n"),
  );
  chmodSync(join(helpers, "mount.rdv"), 0o755);
  return { helpers, log: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

describe("mount -a -F (through the binary)", () => {
  test("independent lines are mounted at the same time; a line inside another's mount point waits for it and lands on it", () => {
    const s = ws.fresh("fork-rdv");
    const d = s.dir;
    for (const name of ["a", "b", "c"]) mkdirSync(join(d, name));
    unmountUnderAfter(d);
    const { helpers, log } = rendezvousHelper(3, 10);
    const fstab = join(d, "fstab");
    writeFileSync(fstab, [`one ${d}/a rdv defaults`, `two ${d}/b rdv defaults`, `three ${d}/c rdv defaults`, `inner ${d}/a/inner tmpfs X-mount.mkdir`, ""].join("\n"));
    const r = runCli(["mount", "-a", "-F", "-T", fstab, "--helper-dir", helpers, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, mounted: 4, failed: 0 });
    // file order in --json, whatever the order they finished in
    expect(doc.entries.map((e: { line: number; status: string }) => [e.line, e.status])).toEqual([
      [1, "mounted"],
      [2, "mounted"],
      [3, "mounted"],
      [4, "mounted"],
    ]);
    // every helper started before any of them mounted
    const lines = log();
    expect(lines.slice(0, 3).every((l) => l.startsWith("start "))).toBe(true);
    expect(lines.filter((l) => l.startsWith("end ")).length).toBe(3);
    const table = mountTable();
    const outer = table.find((m) => m.mountpoint === `${d}/a`)!;
    const inner = table.find((m) => m.mountpoint === `${d}/a/inner`)!;
    expect(inner.source).toBe("inner");
    expect(inner.parent).toBe(outer.id);
  });

  test("the same lines without -F are mounted one at a time: the first helper never meets the others (the check above can fail)", () => {
    const s = ws.fresh("fork-serial");
    const d = s.dir;
    for (const name of ["a", "b"]) mkdirSync(join(d, name));
    unmountUnderAfter(d);
    const { helpers } = rendezvousHelper(2, 0.5);
    const fstab = join(d, "fstab");
    writeFileSync(fstab, [`one ${d}/a rdv defaults`, `two ${d}/b rdv defaults`, ""].join("\n"));
    const r = runCli(["mount", "-a", "-T", fstab, "--helper-dir", helpers]);
    expect(r.code).toBe(64); // the second line's helper finds the first one's mark
    expect(r.stderr).toContain(`no rendezvous for ${d}/a`);
    expect(mountsUnder(d).map((m) => m.mountpoint)).toEqual([`${d}/b`]);
  });

  test("failures as mount -a reports them: the syscall, errno and path, named by line; nofail a warning; a second run skips what is mounted", () => {
    const s = ws.fresh("fork-fail");
    const d = s.dir;
    mkdirSync(join(d, "ok"));
    mkdirSync(join(d, "soft"));
    unmountUnderAfter(d);
    const fstab = join(d, "fstab");
    writeFileSync(fstab, [`good ${d}/ok tmpfs size=1m`, `${d}/nowhere ${d}/soft none bind,nofail`, `bad ${d}/missing tmpfs size=1m`, ""].join("\n"));
    const r = runCli(["mount", "-a", "-F", "-T", fstab, "-v"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`mountkit: warning: mount -a: line 2 (${d}/soft): mount ${d}/nowhere on ${d}/soft: mount(2): ENOENT`);
    expect(r.stderr).toContain(`mountkit: mount -a: line 3 (${d}/missing): mount bad on ${d}/missing: mount(2): ENOENT (No such file or directory) (mount point ${d}/missing does not exist)`);
    // each failure once: the line's process printed it, mount -a reports it
    expect(r.stderr.split("\n").filter((l) => l.includes("line 3")).length).toBe(1);
    expect(r.stdout).toContain(`line 1 (${d}/ok): ${d}/ok: mounted`);
    expect(r.stdout).toContain(`line 3 (${d}/missing): ${d}/missing: failed`);
    expect(mountsUnder(d).map((m) => [m.mountpoint, m.source])).toEqual([[`${d}/ok`, "good"]]);

    const again = runCli(["mount", "-a", "-F", "-T", fstab, "--json"]);
    // nothing mounted, but the nofail line counts as done, as mount(8) -a counts it: 64, not 32
    expect(again.code).toBe(64);
    const doc = JSON.parse(again.stdout);
    expect(doc.entries.map((e: { status: string }) => e.status)).toEqual(["skipped", "warning", "failed"]);
    // the line's own error, as its process reported it, under the line's
    expect(doc.entries[2].error).toMatchObject({
      kind: "mount",
      message: `mount -a: line 3 (${d}/missing): mount bad on ${d}/missing: mount(2): ENOENT (No such file or directory)`,
      cause: { kind: "syscall", syscall: "mount(2)", errnoName: "ENOENT", paths: ["bad", `${d}/missing`] },
    });
    expect(mountsUnder(d).length).toBe(1);
  });

  test("a line's process that succeeds with a warning (a write-protected device mounted read-only): the warning reaches mount -a's stderr", () => {
    const s = ws.fresh("fork-warn");
    const d = s.dir;
    const image = makeExt4Image(join(d, "a.img"));
    ws.cleanups.push(() => detachLoopDevicesOf(image));
    const loop = attachLoop(image, { readOnly: true });
    ws.cleanups.push(() => {
      loop.close();
      detachLoop(loop.device);
    });
    mkdirSync(join(d, "m"));
    unmountUnderAfter(d);
    const fstab = join(d, "fstab");
    writeFileSync(fstab, `${loop.device} ${d}/m ext4 defaults\n`);
    const r = runCli(["mount", "-a", "-F", "-T", fstab]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`mountkit: ${d}/m: WARNING: source write-protected, mounted read-only\n`);
    expect(mountsUnder(d).map((m) => [m.mountpoint, m.source, m.options.split(",").includes("ro")])).toEqual([[`${d}/m`, loop.device, true]]);
  });

  test("a line that breaks fstab's syntax refuses the whole file before any process starts; one the kernel refuses fails alone; --target-prefix and -o reach each line", () => {
    const s = ws.fresh("fork-refuse");
    const d = s.dir;
    const prefix = dir("prefix");
    mkdirSync(join(prefix, "x"));
    mkdirSync(join(prefix, "z"));
    unmountUnderAfter(d);
    const bad = join(d, "bad");
    writeFileSync(bad, ["one /x tmpfs size=1m", "two y tmpfs size=1m", ""].join("\n"));
    const refused = runCli(["mount", "-a", "-F", "-T", bad, "--target-prefix", prefix]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`mountkit: mount -a ${bad}: line 2: mount point y is not an absolute path (nothing was mounted)\n`);
    expect(mountsUnder(prefix)).toEqual([]);

    const refusedOption = join(d, "bogus");
    writeFileSync(refusedOption, ["two /z tmpfs bogus=1", "one /x tmpfs size=1m", ""].join("\n"));
    const alone = runCli(["mount", "-a", "-F", "-T", refusedOption, "--target-prefix", prefix]);
    expect(alone.code).toBe(64);
    expect(alone.stderr).toStartWith(`mountkit: mount -a: line 1 (/z): mount two on ${prefix}/z: mount(2): EINVAL (Invalid argument) (`);
    expect(alone.stderr.split("\n")).toHaveLength(2); // that one line
    expect(mountsUnder(prefix).map((m) => m.mountpoint)).toEqual([`${prefix}/x`]);
    expect(runCli(["umount", `${prefix}/x`]).code).toBe(0);

    const good = join(d, "good");
    writeFileSync(good, ["one /x tmpfs size=1m", "two /z tmpfs size=1m", ""].join("\n"));
    const r = runCli(["mount", "-a", "-F", "-T", good, "--target-prefix", prefix, "-o", "mode=0700", "-r"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const made = mountsUnder(prefix);
    expect(made.map((m) => m.mountpoint).sort()).toEqual([`${prefix}/x`, `${prefix}/z`]);
    for (const m of made) {
      expect(m.superOptions).toContain("mode=700");
      expect(m.options.split(",")).toContain("ro");
    }
  });
  test("a line's process that dies without reporting (its mount helper kills it) is a failure naming the process and the signal", () => {
    const s = ws.fresh("fork-killed");
    const d = s.dir;
    mkdirSync(join(d, "k"));
    mkdirSync(join(d, "ok"));
    unmountUnderAfter(d);
    const helpers = dir("helpers");
    writeFileSync(join(helpers, "mount.killer"), "#!/bin/sh\nkill -9 $PPID\n");
    chmodSync(join(helpers, "mount.killer"), 0o755);
    const fstab = join(d, "fstab");
    writeFileSync(fstab, [`doomed ${d}/k killer defaults`, `fine ${d}/ok tmpfs defaults`, ""].join("\n"));
    const r = runCli(["mount", "-a", "-F", "-T", fstab, "--helper-dir", helpers, "--json"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(new RegExp(`^mountkit: mount -a: line 1 \\(${d}/k\\): \\S+ mount --json -T /dev/stdin .* -- ${d}/k was killed by SIGKILL\n$`));
    const doc = JSON.parse(r.stdout);
    expect(doc.entries[0].error).toMatchObject({ kind: "helper", exitStatus: 137 });
    expect(doc.entries[1].status).toBe("mounted");
    expect(mountsUnder(d).map((m) => m.mountpoint)).toEqual([`${d}/ok`]);
  });
});

describe("mountFstabForked (the scheduler, with the line's process replaced)", () => {
  /** A mountLine that records starts and finishes and resolves when the test says. */
  function controlledLines() {
    const running = new Set<string>();
    let most = 0;
    const order: string[] = [];
    const pending = new Map<string, () => void>();
    return {
      order,
      get most() {
        return most;
      },
      mountLine(entry: BatchEntry) {
        const t = entry.mount.target;
        running.add(t);
        most = Math.max(most, running.size);
        order.push(`start ${t}`);
        return new Promise<{ error?: MountkitError }>((resolve) => {
          pending.set(t, () => {
            running.delete(t);
            order.push(`end ${t}`);
            resolve(entry.mount.source === "fails" ? { error: new MountFailedError("no", new PlanError("no")) } : {});
          });
        });
      },
      /** finish every line started so far, a tick later, until `outcome` settles */
      async drain(outcome: Promise<unknown>) {
        let settled = false;
        outcome.then(
          () => (settled = true),
          () => (settled = true),
        );
        while (!settled) {
          await Bun.sleep(1);
          for (const [t, done] of [...pending]) {
            pending.delete(t);
            done();
          }
        }
      },
    };
  }

  test("at most `concurrency` lines at once, dependants after what they wait for; nofail is a warning, a failure the BatchError", async () => {
    const s = ws.fresh("fork-sched");
    const d = s.dir;
    const fstab = join(d, "fstab");
    const names = ["a", "b", "c", "d", "e"];
    for (const n of names) mkdirSync(join(d, n));
    writeFileSync(
      fstab,
      [...names.map((n) => `src ${d}/${n} tmpfs defaults`), `src ${d}/a/in tmpfs defaults`, `fails ${d}/b/in tmpfs nofail`, `fails ${d}/c/in tmpfs defaults`, ""].join("\n"),
    );
    const lines = controlledLines();
    const done = mountFstabForked({ file: fstab, concurrency: 2, mountLine: (e) => lines.mountLine(e) });
    await lines.drain(done);
    const outcome = await done;
    expect(lines.most).toBe(2);
    const at = (what: string) => lines.order.indexOf(what);
    for (const n of ["a", "b", "c"]) expect(at(`start ${d}/${n}/in`)).toBeGreaterThan(at(`end ${d}/${n}`));
    expect(outcome.results.map((r) => r.status)).toEqual(["mounted", "mounted", "mounted", "mounted", "mounted", "mounted", "warning", "failed"]);
    expect(outcome.warnings.length).toBe(1);
    expect(outcome.error?.message).toStartWith("mount -a: ");
    expect(mountsUnder(d)).toEqual([]); // nothing was really mounted
  });

  test("a line already mounted is skipped when its turn comes; an unexpected error surfaces once the running lines are done", async () => {
    const s = ws.fresh("fork-sched-skip");
    const d = s.dir;
    mkdirSync(join(d, "m"));
    mkdirSync(join(d, "n"));
    mount({ type: "tmpfs", source: "already", options: [] }, join(d, "m"));
    ws.cleanups.push(() => expect(runCli(["umount", join(d, "m")]).code).toBe(0));
    const fstab = join(d, "fstab");
    writeFileSync(fstab, [`already ${d}/m tmpfs defaults`, `other ${d}/n tmpfs defaults`, ""].join("\n"));
    const second = join(d, "fstab2");
    writeFileSync(second, [`buggy ${d}/m/x tmpfs defaults`, `other ${d}/n tmpfs defaults`, ""].join("\n"));
    const started: string[] = [];
    const outcome = await mountFstabForked({
      file: fstab,
      mountLine: async (e) => {
        started.push(e.mount.target);
        return {};
      },
    });
    expect(started).toEqual([`${d}/n`]);
    expect(outcome.results.map((r) => r.status)).toEqual(["skipped", "mounted"]);

    // a bug in a line's runner (not a mount failure) is thrown, but only once the other line is done
    let otherDone = false;
    const bug = mountFstabForked({
      file: second,
      mountLine: async (e) => {
        if (e.mount.source === "other") {
          await Bun.sleep(20);
          otherDone = true;
          return {};
        }
        throw new TypeError("a bug");
      },
    });
    await expect(bug).rejects.toThrow("a bug");
    expect(otherDone).toBe(true);
  });
});
