/**
 * ROOT ONLY. Compares our findmnt output and lookupMount with util-linux findmnt and the
 * kernel, on mounts made inside `unshare -m --propagation private`: the namespace, and every
 * mount in it, dies with the shell. Fails (never skips) without root or unshare.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findmntColumnsJson,
  findmntJson,
  findmntJsonText,
  parseColumns,
  findmntTable,
  isPathUnder,
  lookupMount,
  parseMountInfo,
} from "../../src/mountinfo/index.ts";
import type { FindmntRecord, MountInfo } from "../../src/mountinfo/index.ts";

const COLUMNS = "ID,PARENT,MAJ:MIN,FSROOT,TARGET,SOURCE,FSTYPE,VFS-OPTIONS,FS-OPTIONS,PROPAGATION";
const MARK = "@@mountkit-findmnt-compat@@";
// -o with the numeric (right-aligned) columns and MAJ:MIN (aligned on its colon) among others
const PICKED = "ID,PARENT,MAJ:MIN,FSTYPE,TARGET,PROPAGATION,FSROOT";

// Awkward names, passed through the environment so the shell never has to quote them.
const NAMES = {
  N_SPACE: "sp ace",
  N_TAB: "ta\tb",
  N_BS: "back\\slash",
  N_NL: "new\nline",
  N_BSX: "a\\xb",
  N_CJK: "漢字",
  N_LOWER: "lo wer",
};

// Paths (relative to the temp dir) whose mount the kernel is asked for, via fdinfo mnt_id.
const LOOKUPS = [".", "bind", "sub/deep", "sh", "sl", "ss", "stack", "stack/x", "hid/x", "hid", "empty", "eb", "ov",
  NAMES.N_NL, NAMES.N_TAB, NAMES.N_BS, NAMES.N_SPACE, NAMES.N_CJK];

// Each step is a mount findmnt prints in a particular way; `set -e` stops at the first failure.
const SCRIPT = `
set -eu
d="$MK_DIR"
mount -t tmpfs -o size=1m tmpfs "$d"
cd "$d"
mkdir -p sub/deep bind sh sl ss ub ro robind stack hid/x empty eb lower up work ov \\
  "$N_SPACE" "$N_TAB" "$N_BS" "$N_NL" "$N_BSX" "$N_CJK" "$N_LOWER"
mount --bind "$d/sub" "$d/bind"
mount -t tmpfs -o size=2m tmpfs "$d/sh"; mount --make-shared "$d/sh"
mount --bind "$d/sh" "$d/sl"; mount --make-slave "$d/sl"
mount --bind "$d/sh" "$d/ss"; mount --make-slave "$d/ss"; mount --make-shared "$d/ss"
mount -t tmpfs tmpfs "$d/ub"; mount --make-unbindable "$d/ub"
mount -t tmpfs -o ro,noexec tmpfs "$d/ro"
mount --bind -o ro "$d/sub" "$d/robind"
mount -t tmpfs tmpfs "$d/stack"; mount -t tmpfs tmpfs "$d/stack"; mkdir "$d/stack/x"
mount -t tmpfs tmpfs "$d/hid/x"; mount -t tmpfs tmpfs "$d/hid"; mkdir "$d/hid/x"
mount -t tmpfs "" "$d/empty"; mkdir "$d/empty/s"; mount --bind "$d/empty/s" "$d/eb"
mount -t tmpfs "my src" "$d/$N_SPACE"
mount -t tmpfs tmpfs "$d/$N_TAB"
mount -t tmpfs "src\\\\x" "$d/$N_BS"
mount -t tmpfs tmpfs "$d/$N_NL"
mount -t tmpfs tmpfs "$d/$N_BSX"
mount -t tmpfs tmpfs "$d/$N_CJK"
mount -t overlay overlay -o "lowerdir=$d/$N_LOWER,upperdir=$d/up,workdir=$d/work" "$d/ov"
cat /proc/self/mountinfo
echo "${MARK} json"
findmnt -J -l -o ${COLUMNS}
echo "${MARK} table"
findmnt -l
echo "${MARK} columns"
findmnt -l -o ${PICKED}
echo "${MARK} raw"
findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS
echo "${MARK} jsoncols"
findmnt -J -l -o ${PICKED}
echo "${MARK} lookups"
for p in "$@"; do
  exec 3< "$d/$p"
  awk '/^mnt_id:/ { print $2 }' /proc/self/fdinfo/3
  exec 3<&-
done
`;

let dir = "";
let mounts: MountInfo[] = [];
let findmntJsonOut = "";
let findmntTableOut = "";
let findmntColumnsOut = "";
let findmntRawOut = "";
let findmntJsonColumnsOut = "";
let kernelIds: number[] = [];

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("findmnt-compat: must run as root (it mounts inside unshare -m)");
  dir = mkdtempSync(join(tmpdir(), "mountkit-findmnt-"));
  // Throws ENOENT when unshare is missing: the tests then fail rather than skip.
  const r = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "sh", "-c", SCRIPT, "sh", ...LOOKUPS], {
    env: { ...process.env, ...NAMES, MK_DIR: dir, LC_ALL: "C.UTF-8" },
  });
  const out = r.stdout.toString();
  if (r.exitCode !== 0) throw new Error(`findmnt-compat setup failed (${r.exitCode}): ${r.stderr.toString()}`);
  const [mi, json, table, columns, raw, jsonColumns, ids] = out.split(new RegExp(`^${MARK} \\w+\\n`, "m"));
  if (ids === undefined) throw new Error(`findmnt-compat: unexpected output: ${out}`);
  mounts = parseMountInfo(mi!);
  findmntJsonOut = json!;
  findmntTableOut = table!;
  findmntColumnsOut = columns!;
  findmntRawOut = raw!;
  findmntJsonColumnsOut = jsonColumns!;
  kernelIds = ids.trim().split("\n").map(Number);
});

afterAll(() => {
  // The mounts lived only in the dead namespace, so this is an empty directory again.
  // Never delete recursively: if something were still mounted here, that would reach into it.
  if (dir) rmdirSync(dir);
});

const ours = () => mounts.filter((m) => isPathUnder(m.mountpoint, dir));

describe("findmnt compatibility (root, unshare -m)", () => {
  test("the setup produced the awkward mounts (guards against a vacuous comparison)", () => {
    const records = findmntJson(ours()).filesystems;
    const by = (rel: string): FindmntRecord | undefined => records.findLast((f) => f.target === join(dir, rel));
    expect(records.length).toBeGreaterThanOrEqual(20);
    expect(by("bind")?.source).toBe("tmpfs[/sub]");
    expect(by("eb")?.source).toBe("[/s]");
    expect(by("empty")?.source).toBeNull();
    expect(by("sh")?.propagation).toBe("shared");
    expect(by("sl")?.propagation).toBe("private,slave");
    expect(by("ss")?.propagation).toBe("shared,slave");
    expect(by("ub")?.propagation).toBe("private,unbindable");
    expect(by(NAMES.N_NL)?.target).toBe(`${dir}/new\nline`);
    expect(by(NAMES.N_SPACE)?.source).toBe("my src");
    expect(by("ov")?.["fs-options"]).toContain(`lowerdir=${dir}/lo wer,`);
  });

  test("findmnt -J -l -o ID,...,PROPAGATION: same records for our mounts", () => {
    const theirs = (JSON.parse(findmntJsonOut) as { filesystems: FindmntRecord[] }).filesystems.filter((f) =>
      isPathUnder(f.target, dir),
    );
    expect(findmntJson(ours()).filesystems).toEqual(theirs);
  });

  test("findmnt -J: byte-identical for the whole namespace", () => {
    expect(findmntJsonText(mounts)).toBe(findmntJsonOut);
  });

  test("findmnt -l: byte-identical for the whole namespace", () => {
    expect(findmntTableOut).toContain("new\\x0aline");
    expect(findmntTable(mounts)).toBe(findmntTableOut);
  });

  test("findmnt -l -o COLUMNS, -rn -o COLUMNS and -J -l -o COLUMNS: the same, for the whole namespace", () => {
    const picked = parseColumns(PICKED.toLowerCase());
    expect(findmntTable(mounts, picked)).toBe(findmntColumnsOut);
    expect(findmntRawOut).toContain("\\x20"); // the source "my src", and paths with spaces
    expect(findmntTable(mounts, ["TARGET", "SOURCE", "FSTYPE", "OPTIONS"], { headings: false, raw: true })).toBe(findmntRawOut);
    expect(findmntColumnsJson(mounts, picked)).toEqual(JSON.parse(findmntJsonColumnsOut));
  });

  test("lookupMount picks the mount the kernel resolves each path to (stacks, hidden mounts)", () => {
    expect(kernelIds).toHaveLength(LOOKUPS.length);
    const got = LOOKUPS.map((rel) => lookupMount(mounts, join(dir, rel))?.id);
    expect(got).toEqual(kernelIds);
    // The hidden mount at hid/x exists in the table but is not what the kernel reaches.
    const hidden = mounts.filter((m) => m.mountpoint === join(dir, "hid/x"));
    expect(hidden).toHaveLength(1);
    expect(kernelIds[LOOKUPS.indexOf("hid/x")]).not.toBe(hidden[0]!.id);
  });
});
