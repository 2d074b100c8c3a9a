// findmnt --verify's checks of an fstab, on facts given by the test; pure.
import { expect, test } from "bun:test";
import { verifyFstab, type VerifyFacts, type VerifyPathType } from "../../src/plan/fstab-verify.ts";
import { parseFstabLines } from "../../src/plan/fstab.ts";

/** Facts from tables: paths and their types, tagged devices, known types, superblocks. */
function facts(paths: Record<string, VerifyPathType>, more: Partial<VerifyFacts> = {}): VerifyFacts {
  return {
    pathType: (p) => paths[p.length > 1 ? p.replace(/\/+$/, "") : p], // as stat sees "/dir/"
    taggedDevice: () => undefined,
    knownType: (t) => ["ext3", "ext4", "xfs", "tmpfs", "proc", "vfat", "overlay"].includes(t),
    probedType: () => undefined,
    planProblem: () => undefined,
    ...more,
  };
}

function verify(text: string, f: VerifyFacts) {
  const { lines, problems } = parseFstabLines(text);
  const verdict = verifyFstab(lines, problems, f);
  return { ...verdict, notes: verdict.lines.map((v) => [v.line.line, ...v.notes.map((n) => `${n.level}: ${n.message}`)]) };
}

test("a clean fstab: nothing but what was found right", () => {
  const v = verify("/dev/sda1 / ext4 defaults 0 1\nproc /proc proc defaults\ntmpfs /tmp tmpfs size=1m\n", facts({ "/": "dir", "/proc": "dir", "/tmp": "dir", "/dev/sda1": "block" }, { probedType: () => "ext4" }));
  expect([v.errors, v.warnings]).toEqual([0, 0]);
  expect(v.notes).toEqual([[1], [2], [3]]);
});

test("targets: relative (error), missing (error; X-mount.mkdir: fine; nofail or noauto: a warning), not a directory, named twice", () => {
  const v = verify(
    [
      "tmpfs rel tmpfs defaults",
      "tmpfs /gone tmpfs defaults",
      "tmpfs /made tmpfs X-mount.mkdir=0700",
      "tmpfs /maybe tmpfs nofail",
      "tmpfs /file tmpfs defaults",
      "/src /file none bind",
      "tmpfs /dir tmpfs defaults",
      "tmpfs /dir/ tmpfs defaults",
    ].join("\n"),
    facts({ "/file": "file", "/src": "file", "/dir": "dir" }),
  );
  expect(v.notes).toEqual([
    [1, 'error: target "rel" is not an absolute path'],
    [2, "error: target does not exist"],
    [3, "info: target does not exist; X-mount.mkdir creates it"],
    [4, "warning: target does not exist"],
    [5, "error: target is not a directory"],
    [6, "warning: target specified more than once (also line 5): mounted on top of it"], // a bind of a file onto a file: fine
    [7],
    [8, "warning: target specified more than once (also line 7): mounted on top of it"],
  ]);
  expect([v.errors, v.warnings]).toEqual([3, 3]);
});

test("order: a mount point listed before its parent is hidden by it (noauto lines and the root aside)", () => {
  const v = verify(["tmpfs /srv/a tmpfs defaults", "tmpfs /srv tmpfs defaults", "tmpfs /opt/x tmpfs noauto", "tmpfs /opt tmpfs defaults", "/dev/sda1 / ext4 defaults 0 1"].join("\n"), facts({ "/srv/a": "dir", "/srv": "dir", "/opt/x": "dir", "/opt": "dir", "/": "dir", "/dev/sda1": "block" }));
  expect(v.notes).toEqual([[1], [2, "warning: order is wrong: /srv/a (line 1) is mounted before it, and this mount hides it"], [3], [4], [5]]);
});

test("sources: a missing device or bind source, an unresolved tag (named as written), a resolved one", () => {
  const v = verify(
    ["/dev/nope /a ext4 defaults", "/nowhere /b none bind", "UUID=dead-beef /c ext4 defaults", "LABEL=data /d ext4 defaults", "server:/export /e nfs defaults"].join("\n"),
    facts({ "/a": "dir", "/b": "dir", "/c": "dir", "/d": "dir", "/e": "dir", "/dev/sdb1": "block" }, {
      taggedDevice: (s) => (s === "/dev/disk/by-label/data" ? "/dev/sdb1" : undefined),
      probedType: (d) => (d === "/dev/sdb1" ? "ext4" : undefined),
      knownType: (t) => t === "ext4",
    }),
  );
  expect(v.notes).toEqual([
    [1, "error: unreachable source: /dev/nope"],
    [2, "error: unreachable source: /nowhere"],
    [3, "error: unreachable source: UUID=dead-beef"],
    [4, "info: source LABEL=data is /dev/sdb1"],
    [5, 'warning: unknown filesystem type "nfs"'],
  ]);
});

test("types: unknown (FUSE types are their helpers'), auto probed or not, a mismatch with the disk (the ext family aside)", () => {
  const disks: Record<string, string> = { "/dev/sdb1": "xfs", "/dev/sdc1": "ext4" };
  const v = verify(
    [
      "/dev/sdb1 /a ext4 defaults",
      "/dev/sdc1 /b ext3 defaults",
      "/dev/sdc1 /c auto defaults",
      "/dev/sdd1 /d auto defaults",
      "x /e fuse.sshfs defaults",
      "x /f ext9 defaults",
      "/dev/sdb1 /g ext4,xfs defaults",
    ].join("\n"),
    facts(
      { "/a": "dir", "/b": "dir", "/c": "dir", "/d": "dir", "/e": "dir", "/f": "dir", "/g": "dir", "/dev/sdb1": "block", "/dev/sdc1": "block", "/dev/sdd1": "block" },
      { probedType: (d) => disks[d] },
    ),
  );
  expect(v.notes).toEqual([
    [1, "warning: type ext4 does not match the on-disk xfs"],
    [2],
    [3, "info: on-disk type: ext4"],
    [4, "error: cannot detect the on-disk filesystem type of /dev/sdd1"],
    [5],
    [6, 'warning: unknown filesystem type "ext9"'],
    [7],
  ]);
});

test("options: what planning refuses is an error; not asked when the line has an error already; a bad mkdir mode", () => {
  const asked: number[] = [];
  const v = verify(
    ["tmpfs /a tmpfs mode=banana", "tmpfs /gone tmpfs mode=banana", "tmpfs /b tmpfs X-mount.mkdir=999", "tmpfs /c tmpfs noauto,X-mount.mkdir=999", "tmpfs /d tmpfs nofail,X-mount.mkdir=abc"].join("\n"),
    facts({ "/a": "dir", "/b": "dir", "/c": "dir", "/d": "dir" }, {
      planProblem: (entry) => {
        asked.push(entry.index);
        return entry.mount.options.includes("mode=banana") ? 'option "mode=banana" refused by the kernel' : undefined;
      },
    }),
  );
  expect(v.notes).toEqual([
    [1, 'error: option "mode=banana" refused by the kernel'],
    [2, "error: target does not exist"],
    [3, 'error: X-mount.mkdir mode "999" is not an octal mode'],
    // mount -a skips a noauto line and forgives a nofail one: a warning, as the kernel's refusals there
    [4, 'warning: X-mount.mkdir mode "999" is not an octal mode'],
    [5, 'warning: X-mount.mkdir mode "abc" is not an octal mode'],
  ]);
  expect(asked).toEqual([1]);
});

test("a nofail or noauto line whose source or target is missing: a warning, and its options not asked (planning would say it again, as an error)", () => {
  const asked: number[] = [];
  const v = verify(
    ["UUID=dead-beef /a ext4 nofail", "LABEL=gone /b ext4 noauto", "/nowhere /c none bind,nofail", "tmpfs /gone tmpfs nofail", "tmpfs /d tmpfs nofail"].join("\n"),
    facts({ "/a": "dir", "/b": "dir", "/c": "dir", "/d": "dir" }, {
      planProblem: (entry) => {
        asked.push(entry.index);
        return entry.mount.source.startsWith("/dev/disk/") ? `no block device has ${entry.mount.source}` : undefined;
      },
    }),
  );
  expect(v.notes).toEqual([
    [1, "warning: unreachable source: UUID=dead-beef"],
    [2, "warning: unreachable source: LABEL=gone"],
    [3, "warning: unreachable source: /nowhere"],
    [4, "warning: target does not exist"],
    [5],
  ]);
  expect([v.errors, v.warnings]).toEqual([0, 4]);
  expect(asked).toEqual([5]);
});

test("swap lines: the source is checked, not the target; the root's pass number; parse errors passed through", () => {
  const v = verify("/dev/sda2 none swap sw\n/dev/sda1 / ext4 defaults 0 2\nbad line\n", facts({ "/dev/sda2": "block", "/dev/sda1": "block", "/": "dir" }, { probedType: () => "ext4" }));
  expect(v.notes).toEqual([[1, "info: swap area"], [2, "warning: recommended root filesystem pass number is 1 (it is 2)"]]);
  expect(v.parseErrors).toEqual(["line 3: 2 fields, expected at least 3 (source, target, type)"]);
});

test("swap lines: a missing device path is a warning (swapon's business, not mount -a's), a missing tag an error, as findmnt --verify", () => {
  const v = verify("/dev/sdz9 none swap sw\n/swapfile swap swap defaults\nLABEL=nope none swap sw\nLABEL=later none swap noauto\n", facts({}));
  expect(v.notes).toEqual([
    [1, "warning: unreachable source: /dev/sdz9"],
    [2, "warning: unreachable source: /swapfile"],
    [3, "error: unreachable source: LABEL=nope"],
    [4, "warning: unreachable source: LABEL=later"],
  ]);
  expect([v.errors, v.warnings]).toEqual([1, 3]);
});

// Checked for its answers only: how it scales (a scan of all earlier lines took 8 s at 5000 lines,
// hours at 100 000) is measured by scripts/limits.ts, never timed in a test.
test("a 5000-line fstab: a repeated target and wrong orders found far apart", () => {
  const count = 5000;
  const lines = ["tmpfs /srv/a/b tmpfs defaults", "tmpfs /srv/x tmpfs noauto"];
  for (let i = 0; i < count; i++) lines.push(`tmpfs /m/d${i} tmpfs noauto`);
  lines.push("tmpfs /m/d7 tmpfs noauto", "tmpfs /srv/a tmpfs defaults", "tmpfs /srv tmpfs defaults", "tmpfs /m tmpfs defaults");
  const v = verify(lines.join("\n"), facts({}, { pathType: () => "dir" }));
  expect(v.notes.slice(-4)).toEqual([
    [count + 3, "warning: target specified more than once (also line 10): mounted on top of it"],
    [count + 4, "warning: order is wrong: /srv/a/b (line 1) is mounted before it, and this mount hides it"],
    [count + 5, "warning: order is wrong: /srv/a/b (line 1) is mounted before it, and this mount hides it"],
    // the /m/dN lines are noauto: mount -a does not mount them before /m
    [count + 6],
  ]);
  expect([v.errors, v.warnings]).toEqual([0, 3]);
});

test("the kernel's refusal on an optional line is a warning (mount -a skips or forgives it); on a type /proc/filesystems lacks, it replaces the guess", () => {
  const refusal = (type: string) => `filesystem type "${type}" refused by the kernel: unknown filesystem type`;
  const v = verify(
    ["x /a bogusfs defaults", "x /b bogusfs noauto", "x /c tmpfs size=banana,nofail", "x /d modfs defaults"].join("\n"),
    facts({ "/a": "dir", "/b": "dir", "/c": "dir", "/d": "dir" }, {
      // modfs: a module the kernel loads when it is asked for (no refusal), though not listed yet
      planProblem: (entry) => (entry.mount.type === "bogusfs" ? refusal("bogusfs") : entry.mount.options.includes("size=banana") ? 'option "size=banana" refused by the kernel' : undefined),
    }),
  );
  expect(v.notes).toEqual([
    [1, `error: ${refusal("bogusfs")}`],
    [2, `warning: ${refusal("bogusfs")}`],
    [3, 'warning: option "size=banana" refused by the kernel'],
    [4, 'warning: unknown filesystem type "modfs"'],
  ]);
  expect([v.errors, v.warnings]).toEqual([1, 3]);
});
