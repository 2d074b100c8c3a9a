// LIBMOUNT_FSTAB=PATH, the default fstab's location, beside util-linux: mount -a, mount DIR,
// findmnt -s and --verify read it where no -T/-F names a file, and -T/-F still win. Each case
// runs once per tool, each in a private mount namespace of its own (unshare -m inside this
// test's), and compares exit codes, what was left mounted and, where util-linux's is the
// contract, the output. Root, private namespace.
import { beforeAll, expect, test } from "bun:test";
import { requireRootNamespace } from "../support/root.ts";
import { runInOwnNamespace, type NamespaceOutcome as Outcome } from "../support/mounts-left.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

type Tool = (name: "mount" | "umount" | "findmnt") => string;
const UTIL_LINUX: Tool = (name) => name;
const MOUNTKIT: Tool = (name) => `"$MK" ${name}`;

/** command(tool) run by util-linux and by mountkit on the same setup; both outcomes, after checking they exit alike and leave the same mounts. */
function beside(setup: string, command: (tool: Tool) => string): { util: Outcome; ours: Outcome } {
  const d = ws.dir("d");
  const util = runInOwnNamespace(d, setup, command(UTIL_LINUX));
  const ours = runInOwnNamespace(d, setup, command(MOUNTKIT));
  const what = command(MOUNTKIT);
  expect([what, ours.code, ours.left]).toEqual([what, util.code, util.left]);
  return { util, ours };
}

// env.fstab: the file LIBMOUNT_FSTAB names; t.fstab: the one -T/-F names; fstab.d: a directory of them.
const SETUP = [
  "mkdir -p e t c fstab.d",
  `printf 'envsrc %s/e tmpfs size=1m 0 0\\n' "$D" > env.fstab`,
  `printf 'tsrc %s/t tmpfs size=2m 0 0\\n' "$D" > t.fstab`,
  `printf 'dirsrc %s/c tmpfs size=1m 0 0\\n' "$D" > fstab.d/a.fstab`,
].join("\n");

test("mount -a reads $LIBMOUNT_FSTAB (a file, relative to the working directory, a directory); -T wins over it", () => {
  ws.fresh("fstab-env-all");
  for (const [env, left] of [
    ['"$D/env.fstab"', ["D/e envsrc"]],
    ["env.fstab", ["D/e envsrc"]],
    ['"$D/fstab.d"', ["D/c dirsrc"]],
  ] as const) {
    const { ours } = beside(SETUP, (t) => `LIBMOUNT_FSTAB=${env} ${t("mount")} -a`);
    expect([env, ours.code, ours.left, ours.stderr]).toEqual([env, 0, [...left], ""]);
  }
  const given = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} -a -T "$D/t.fstab"`);
  expect(given.ours.left).toEqual(["D/t tsrc"]);
  // --json names the file read
  const json = runInOwnNamespace(ws.dir("d"), SETUP, `LIBMOUNT_FSTAB="$D/env.fstab" "$MK" mount -a --json`);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, fstab: `${ws.dir("d")}/env.fstab`, mounted: 1 });
});

test("mount -a -F (a process per line, each handed its line on stdin) and mount -a --fake read $LIBMOUNT_FSTAB as mount -a does", () => {
  ws.fresh("fstab-env-fork");
  const setup = `${SETUP}\nprintf 'envsrc2 %s/t tmpfs size=1m 0 0\\n' "$D" >> env.fstab`;
  // the lines mount at once: in either order
  const [util, ours] = [UTIL_LINUX, MOUNTKIT].map((t) => runInOwnNamespace(ws.dir("d"), setup, `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} -a -F`));
  expect([ours!.code, ours!.left.toSorted(), ours!.stderr]).toEqual([0, ["D/e envsrc", "D/t envsrc2"], ""]);
  expect([util!.code, util!.left.toSorted()]).toEqual([0, ours!.left.toSorted()]);
  const json = runInOwnNamespace(ws.dir("d"), setup, `LIBMOUNT_FSTAB="$D/env.fstab" "$MK" mount -a -F --json`);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, fstab: `${ws.dir("d")}/env.fstab`, mounted: 2 });
  const fake = beside(setup, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} -a --fake -v`);
  expect([fake.ours.code, fake.ours.left]).toEqual([0, []]);
  expect(fake.ours.stdout).toContain(`${ws.dir("d")}/t`);
});

test("mount DIR and mount SOURCE find their line in $LIBMOUNT_FSTAB; -T wins; a name in neither: can't find in PATH", () => {
  ws.fresh("fstab-env-one");
  const d = ws.dir("d");
  for (const operand of ['"$D/e"', "envsrc"]) {
    const { ours } = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} ${operand}`);
    expect([operand, ours.code, ours.left, ours.stderr]).toEqual([operand, 0, ["D/e envsrc"], ""]);
  }
  const given = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} -T "$D/t.fstab" "$D/t"`);
  expect(given.ours.left).toEqual(["D/t tsrc"]);
  // the env's line is not looked at when -T names another file
  const notInGiven = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} -T "$D/t.fstab" "$D/e"`);
  expect([notInGiven.ours.code, notInGiven.ours.left]).toEqual([1, []]);
  // util-linux 2.38 names the default fstab here, not the -T file it searched (mnt_get_fstab_path() in its message); mountkit the file searched
  expect(notInGiven.util.stderr).toContain(`${d}/e: can't find in ${d}/env.fstab`);
  expect(notInGiven.ours.stderr).toBe(`mountkit: mount: ${d}/e: can't find in ${d}/t.fstab (give both SOURCE and TARGET, or add a line for it to the fstab)\n`);
  // the message names the env's file, as mount(8)'s does; the hint says where the name came from
  const notInEnv = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("mount")} "$D/t"`);
  expect(notInEnv.ours.code).toBe(1);
  expect(notInEnv.util.stderr).toContain(`${d}/t: can't find in ${d}/env.fstab`);
  expect(notInEnv.ours.stderr).toBe(
    `mountkit: mount: ${d}/t: can't find in ${d}/env.fstab (give both SOURCE and TARGET, or add a line for it to the fstab; LIBMOUNT_FSTAB names this fstab (unset it to read /etc/fstab))\n`,
  );
});

test("findmnt -s and --verify read $LIBMOUNT_FSTAB; -F wins", () => {
  ws.fresh("fstab-env-findmnt");
  for (const command of ["-s", "-s -o TARGET,SOURCE -n", '-s -F "$D/t.fstab"', "-s -J"]) {
    const { util, ours } = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/env.fstab" ${t("findmnt")} ${command}`);
    expect([command, ours.code, ours.stdout, ours.stderr]).toEqual([command, 0, util.stdout, ""]);
    expect(ours.stdout).toContain(command.includes("t.fstab") ? "tsrc" : "envsrc");
  }
  // --verify: a line whose target is missing is an error, in the env's file but not in -F's
  const setup = `${SETUP}\nprintf 'x %s/missing tmpfs defaults 0 0\\n' "$D" > bad.fstab`;
  const bad = beside(setup, (t) => `LIBMOUNT_FSTAB="$D/bad.fstab" ${t("findmnt")} --verify`);
  expect(bad.ours.code).toBe(1);
  expect(bad.ours.stdout).toContain(`${ws.dir("d")}/missing\n   [E] target does not exist`);
  const good = beside(setup, (t) => `LIBMOUNT_FSTAB="$D/bad.fstab" ${t("findmnt")} --verify -F "$D/env.fstab"`);
  expect([good.ours.code, good.ours.stdout]).toEqual([0, "Success, no errors or warnings detected\n"]);
});

test("$LIBMOUNT_FSTAB naming no file: mount -a mounts nothing (exit 0), mount DIR can't find, findmnt fails naming the path", () => {
  ws.fresh("fstab-env-missing");
  const d = ws.dir("d");
  const all = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/missing.fstab" ${t("mount")} -a`);
  expect([all.ours.code, all.ours.left, all.ours.stderr]).toEqual([0, [], ""]);
  const one = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/missing.fstab" ${t("mount")} "$D/e"`);
  expect(one.ours.code).toBe(1);
  expect(one.util.stderr).toContain(`can't find in ${d}/missing.fstab`);
  expect(one.ours.stderr).toContain(`mountkit: mount: ${d}/e: can't find in ${d}/missing.fstab (`);
  for (const command of ["-s", "--verify"]) {
    const { util, ours } = beside(SETUP, (t) => `LIBMOUNT_FSTAB="$D/missing.fstab" ${t("findmnt")} ${command}`);
    expect([command, ours.code, ours.stdout]).toEqual([command, 1, ""]);
    expect(util.stderr).toContain("No such file or directory"); // util-linux 2.38 names it "(null)"
    expect(ours.stderr).toBe(`mountkit: read ${d}/missing.fstab: open(2): ENOENT (No such file or directory) (LIBMOUNT_FSTAB names this fstab (unset it to read /etc/fstab))\n`);
  }
});

test('LIBMOUNT_FSTAB="" is the path "", which names no file, not /etc/fstab: as util-linux', () => {
  ws.fresh("fstab-env-empty");
  // an /etc/fstab of this namespace's own, with a line: read when the variable is unset
  const setup = `${SETUP}\nmkdir -p etcline\nprintf 'etcsrc %s/etcline tmpfs size=1m 0 0\\n' "$D" > etc.fstab\nmount --bind etc.fstab /etc/fstab`;
  const unset = beside(setup, (t) => `env -u LIBMOUNT_FSTAB ${t("mount")} -a`);
  expect([unset.ours.code, unset.ours.left]).toEqual([0, ["D/etcline etcsrc"]]);
  const all = beside(setup, (t) => `LIBMOUNT_FSTAB= ${t("mount")} -a`);
  expect([all.ours.code, all.ours.left, all.ours.stderr]).toEqual([0, [], ""]);
  const one = beside(setup, (t) => `LIBMOUNT_FSTAB= ${t("mount")} "$D/etcline"`);
  expect(one.ours.code).toBe(1);
  expect(one.util.stderr).toContain("can't find in ."); // "can't find in %s." of ""
  expect(one.ours.stderr).toContain(`can't find in "" (`);
  const listed = beside(setup, (t) => `LIBMOUNT_FSTAB= ${t("findmnt")} -s`);
  expect([listed.ours.code, listed.ours.stdout]).toEqual([1, ""]);
  expect(listed.ours.stderr).toBe('mountkit: read "": open(2): ENOENT (No such file or directory) (LIBMOUNT_FSTAB names this fstab (unset it to read /etc/fstab))\n');
  // -T still wins
  const given = beside(setup, (t) => `LIBMOUNT_FSTAB= ${t("mount")} -a -T "$D/t.fstab"`);
  expect(given.ours.left).toEqual(["D/t tsrc"]);
});

test("a $LIBMOUNT_FSTAB path that is not UTF-8 is read as its bytes", () => {
  ws.fresh("fstab-env-bytes");
  const setup = `${SETUP}\nF=$(printf '%s/caf\\351.fstab' "$D")\ncp env.fstab "$F"`;
  const { ours } = beside(setup, (t) => `LIBMOUNT_FSTAB="$F" ${t("mount")} -a`);
  expect([ours.code, ours.left, ours.stderr]).toEqual([0, ["D/e envsrc"], ""]);
});

test("mountkit umount -a unmounts $LIBMOUNT_FSTAB's mount points; -T wins", () => {
  ws.fresh("fstab-env-umount");
  // util-linux's umount -a unmounts the mount table, not an fstab: mountkit's own, alone
  const mounted = `${SETUP}\nmount -t tmpfs envsrc e\nmount -t tmpfs tsrc t`;
  const env = runInOwnNamespace(ws.dir("d"), mounted, `LIBMOUNT_FSTAB="$D/env.fstab" "$MK" umount -a`);
  expect([env.code, env.left, env.stderr]).toEqual([0, ["D/t tsrc"], ""]);
  const given = runInOwnNamespace(ws.dir("d"), mounted, `LIBMOUNT_FSTAB="$D/env.fstab" "$MK" umount -a -T "$D/t.fstab"`);
  expect([given.code, given.left, given.stderr]).toEqual([0, ["D/e envsrc"], ""]);
  const json = runInOwnNamespace(ws.dir("d"), mounted, `LIBMOUNT_FSTAB="$D/env.fstab" "$MK" umount -a --json`);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, fstab: `${ws.dir("d")}/env.fstab`, results: [{ line: 1, status: "unmounted" }] });
});
