// mount --move on real mounts: the tree moves, a failure after the move moves it back.
// Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { mount } from "../../src/ops/mount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;
/** A fresh scratch dir with two mount points in it, each unmounted after the test. */
function fromAndTo(label: string): { from: string; to: string } {
  ws.fresh(label);
  const from = dir("from");
  const to = dir("to");
  unmountAfter(from);
  unmountAfter(to);
  return { from, to };
}
const points = (path: string) => mountsUnder(path).map((m) => `${m.mountpoint} ${m.fstype} ${m.source}`);

describe("mount --move", () => {
  test("the mount and the mounts under it move; the old place is a plain directory again", () => {
    const { from, to } = fromAndTo("move");
    mount({ type: "tmpfs", source: "mk-move", options: [] }, from);
    const sub = dir("from", "sub");
    unmountAfter(sub);
    unmountAfter(join(to, "sub"));
    mount({ type: "tmpfs", source: "mk-sub", options: [] }, sub);
    writeFileSync(join(from, "hello"), "x");

    const plan = mount({ type: "", source: from, options: ["move", "private"] }, to);
    expect(plan.steps.map((s) => s.op === "mount" && s.role)).toEqual(["move", "propagation"]);
    expect(points(from)).toEqual([]);
    expect(points(to)).toEqual([`${to} tmpfs mk-move`, `${to}/sub tmpfs mk-sub`]);
    expect(existsSync(join(to, "hello"))).toBe(true);
    expect(existsSync(join(from, "hello"))).toBe(false);
  });

  test("a failure after the move (EINVAL injected at the propagation call) moves the mount back", () => {
    const { from, to } = fromAndTo("move-back");
    mount({ type: "tmpfs", source: "mk-back", options: [] }, from);
    const sys = injectFaults(libcSyscalls, { mount: { calls: [2], errno: Errno.EINVAL } });
    const err = caught(() => mount({ type: "", source: from, options: ["move", "shared"] }, to, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errno).toBe(Errno.EINVAL);
    expect(err.cleanupErrors).toEqual([]);
    expect(sys.log.filter((call) => call[0] === "mount").map((call) => call.slice(1, 3))).toEqual([
      [from, to],
      [null, to],
      [to, from], // the rollback
    ]);
    expect(points(to)).toEqual([]);
    expect(points(from)).toEqual([`${from} tmpfs mk-back`]);
  });

  test("when the move back fails too (EBUSY injected), the error carries it and the mount stays where it went", () => {
    const { from, to } = fromAndTo("move-back-fails");
    mount({ type: "tmpfs", source: "mk-stuck", options: [] }, from);
    // the propagation call (2) and the move back (3) both refused
    const sys = injectFaults(libcSyscalls, { mount: { calls: [2, 3], errno: Errno.EBUSY } });
    const err = caught(() => mount({ type: "", source: from, options: ["move", "shared"] }, to, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.paths).toEqual([to]);
    expect(err.cleanupErrors).toHaveLength(1);
    expect(err.cleanupErrors[0]).toMatchObject({ syscall: "mount(2)", errno: Errno.EBUSY, paths: [to, from] });
    // nothing was lost: the mount is at the new place, whole
    expect(points(to)).toEqual([`${to} tmpfs mk-stuck`]);
    expect(points(from)).toEqual([]);
  });

  test("the binary: -M SOURCE TARGET; bad use exits 1, a source that is no mount point 32", () => {
    const { from, to } = fromAndTo("move-cli");
    expect(runCli(["mount", "-t", "tmpfs", "mk-cli", from]).code).toBe(0);
    expect(runCli(["mount", "-n", "--move", from, to]).stdout).toBe(`mount("${from}", "${to}", NULL, MS_MOVE, NULL)\n`);
    expect(runCli(["mount", "-M", from, to])).toMatchObject({ code: 0, stderr: "" });
    expect(points(to)).toEqual([`${to} tmpfs mk-cli`]);

    const oneOperand = runCli(["mount", "--move", to]);
    expect(oneOperand.code).toBe(1);
    expect(oneOperand.stderr).toMatch(/--move needs the mount point to move and where to/);
    const withRo = runCli(["mount", "--move", "-r", to, from]);
    expect(withRo.code).toBe(1);
    expect(withRo.stderr).toMatch(/a move takes no other options \(given: ro\)/);
    const notMounted = runCli(["mount", "--move", from, to]); // from is a plain directory now
    expect(notMounted.code).toBe(32);
    expect(notMounted.stderr).toBe(`mountkit: move ${from} to ${to}: mount(2): EINVAL (Invalid argument) (${from} is not a mount point: --move moves a mount (a directory that is none can be bound elsewhere with --bind))\n`);
    expect(points(to)).toEqual([`${to} tmpfs mk-cli`]);
  });

  test("EINVAL says which of the kernel's causes it was: a shared parent, or an unbindable mount moved into a shared one", () => {
    const { from, to } = fromAndTo("move-shared");
    const parent = dir("parent");
    unmountAfter(parent);
    mount({ type: "tmpfs", source: "mk-parent", options: ["shared"] }, parent);
    const inShared = dir("parent", "m");
    unmountAfter(inShared);
    mount({ type: "tmpfs", source: "mk-in-shared", options: [] }, inShared);
    const outOfShared = runCli(["mount", "--move", inShared, to]);
    expect(outOfShared).toMatchObject({ code: 32, stdout: "" });
    expect(outOfShared.stderr).toBe(
      `mountkit: move ${inShared} to ${to}: mount(2): EINVAL (Invalid argument) (the mount at ${inShared} sits in a shared mount (${parent}), out of which the kernel moves nothing: make that one private first (--make-private), or bind the mount instead of moving it)\n`,
    );
    expect(points(inShared)).toEqual([`${inShared} tmpfs mk-in-shared`]);

    mount({ type: "tmpfs", source: "mk-tree", options: [] }, from);
    const locked = dir("from", "u");
    unmountAfter(locked);
    mount({ type: "tmpfs", source: "mk-unbindable", options: ["unbindable"] }, locked);
    const into = dir("parent", "into");
    const unbindable = runCli(["mount", "--move", from, into]);
    expect(unbindable.code).toBe(32);
    expect(unbindable.stderr).toBe(
      `mountkit: move ${from} to ${into}: mount(2): EINVAL (Invalid argument) (the destination's mount (${parent}) is shared, and the moved tree holds an unbindable mount (${locked}), which could not propagate)\n`,
    );
    expect(points(from)).toEqual([`${from} tmpfs mk-tree`, `${locked} tmpfs mk-unbindable`]);
  });

  test("a directory's mount onto a file is EINVAL, and a move beneath itself ELOOP: each hint says so (before: the generic causes, and none)", () => {
    const { from } = fromAndTo("move-kind");
    mount({ type: "tmpfs", source: "mk-kind", options: [] }, from);
    const file = join(from, "..", "file");
    writeFileSync(file, "");
    const ontoFile = runCli(["mount", "--move", from, file]);
    expect(ontoFile).toMatchObject({ code: 32, stdout: "" });
    expect(ontoFile.stderr).toBe(
      `mountkit: move ${from} to ${file}: mount(2): EINVAL (Invalid argument) (a move puts a directory on a directory and a file on a file: the mount at ${from} is a directory, ${file} no directory)\n`,
    );
    const beneath = dir("from", "sub");
    const loop = runCli(["mount", "--move", from, beneath]);
    expect(loop.code).toBe(32);
    expect(loop.stderr).toBe(`mountkit: move ${from} to ${beneath}: mount(2): ELOOP (Too many levels of symbolic links) (${beneath} is inside the mount at ${from}: a mount cannot be moved beneath itself)\n`);
    expect(points(from)).toEqual([`${from} tmpfs mk-kind`]);
  });
});
