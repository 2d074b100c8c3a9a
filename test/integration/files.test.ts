// The file primitives the CLI uses instead of node:fs (src/sys/file.ts, stat.ts, realpath.ts):
// each checked against what node:fs says of the same paths, and each failure named.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { accessible, createEmptyFile, makeUniqueDir, mkdirAll, readTextFd, readTextFile, unlink, X_OK } from "../../src/sys/file.ts";
import { close, O, open } from "../../src/sys/fd.ts";
import { realpath } from "../../src/sys/realpath.ts";
import { fileType, statPath } from "../../src/sys/stat.ts";
import { caught } from "../support/caught.ts";
import { scratch } from "../support/root.ts";

let s: ReturnType<typeof scratch>;
afterEach(() => s.dispose());

test("readTextFile reads proc files (size 0) and files larger than its first buffer, as UTF-8 with other bytes held", () => {
  s = scratch("read");
  expect(readTextFile("/proc/self/mountinfo")).toBe(readFileSync("/proc/self/mountinfo", "utf8"));
  expect(readTextFile("/proc/self/uid_map")).toBe(readFileSync("/proc/self/uid_map", "utf8"));
  const big = `${"é/path with space\n".repeat(40_000)}end`; // about 800 KB: several doublings
  writeFileSync(s.path("big"), big);
  expect(readTextFile(s.path("big"))).toBe(big);
  writeFileSync(s.path("empty"), "");
  expect(readTextFile(s.path("empty"))).toBe(""); // right after the big one: its bytes are not seen again
  writeFileSync(s.path("small"), "small");
  expect(readTextFile(s.path("small"))).toBe("small");
  writeFileSync(s.path("bad-utf8"), Buffer.from([0x61, 0xff, 0x62]));
  expect(readTextFile(s.path("bad-utf8"))).toBe("a\uDCFFb"); // the byte held (path-text.ts), not U+FFFD
});

test("readTextFile names the syscall, errno and path; it leaves no fd open", () => {
  s = scratch("read-fail");
  mkdirSync(s.path("dir"));
  const fds = readdirSync("/proc/self/fd").length;
  const missing = caught(() => readTextFile(s.path("missing")));
  expect(missing).toBeInstanceOf(SyscallError);
  expect((missing as SyscallError).message).toBe(`${s.path("missing")}: open(2): ENOENT (No such file or directory)`);
  const dir = caught(() => readTextFile(s.path("dir")));
  expect((dir as SyscallError).syscall).toBe("read(2)");
  expect((dir as SyscallError).errno).toBe(Errno.EISDIR);
  expect(readdirSync("/proc/self/fd").length).toBe(fds);
});

test("readTextFd reads an fd to its end", () => {
  s = scratch("read-fd");
  writeFileSync(s.path("f"), "line 1\nline 2\n");
  const fd = open(s.path("f"), O.RDONLY | O.CLOEXEC);
  try {
    expect(readTextFd(fd, "f")).toBe("line 1\nline 2\n");
  } finally {
    close(fd);
  }
});

test("realpath resolves links, . and .. like node:fs; a missing path is ENOENT from realpath(3)", () => {
  s = scratch("realpath");
  mkdirSync(s.path("a", "b"), { recursive: true });
  symlinkSync("a/b", s.path("link"));
  const tricky = `${s.dir}/a/../link/./`; // not through join(), which would normalise it
  expect(realpath(tricky)).toBe(realpathSync(tricky));
  expect(realpath(tricky)).toBe(realpathSync(s.path("a", "b")));
  const err = caught(() => realpath(s.path("link", "missing")));
  expect(err).toBeInstanceOf(SyscallError);
  expect((err as SyscallError).syscall).toBe("realpath(3)");
  expect((err as SyscallError).errnoName).toBe("ENOENT");
  expect((err as SyscallError).paths).toEqual([s.path("link", "missing")]);
});

test("statPath and fileType: each kind of file, links followed or not, the device", () => {
  s = scratch("stat");
  mkdirSync(s.path("dir"));
  writeFileSync(s.path("file"), "x");
  symlinkSync("dir", s.path("link"));
  expect(fileType(s.path("dir"))).toBe("dir");
  expect(fileType(s.path("file"))).toBe("file");
  expect(fileType(s.path("link"))).toBe("dir");
  expect(fileType(s.path("link"), false)).toBe("link");
  expect(fileType("/dev/null")).toBe("char");
  expect(fileType(s.path("missing"))).toBeUndefined();
  expect(fileType(s.path("file", "below"))).toBeUndefined();
  const dev = statSync(s.path("file"), { bigint: true }).dev; // glibc's makedev() encoding
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  expect(statPath(s.path("file"))!.device).toBe(Number(major) * 2 ** 32 + Number(minor));
  expect(statPath(s.path("file"))!.device).toBe(statPath(s.path("dir"))!.device);
  expect(statPath("/proc/self")!.device).not.toBe(statPath(s.path("dir"))!.device);
});

test("mkdirAll makes missing parents with the mode, accepts a directory, refuses a file", () => {
  s = scratch("mkdir");
  mkdirAll(s.path("x", "y", "z"), 0o700);
  for (const p of [s.path("x"), s.path("x", "y"), s.path("x", "y", "z")]) {
    expect(statSync(p).isDirectory()).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o700);
  }
  mkdirAll(s.path("x", "y"), 0o700); // exists: fine
  writeFileSync(s.path("file"), "");
  const err = caught(() => mkdirAll(s.path("file"), 0o700));
  expect((err as SyscallError).errno).toBe(Errno.EEXIST);
  const below = caught(() => mkdirAll(s.path("file", "sub"), 0o700));
  expect((below as SyscallError).errno).toBe(Errno.ENOTDIR);
});

test("makeUniqueDir makes distinct 0700 directories named prefix + 6 characters", () => {
  s = scratch("mkdtemp");
  const a = makeUniqueDir(s.path("t-"));
  const b = makeUniqueDir(s.path("t-"));
  expect(a).not.toBe(b);
  for (const d of [a, b]) {
    expect(d).toMatch(new RegExp(`^${s.path("t-").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[A-Za-z0-9]{6}$`));
    expect(statSync(d).isDirectory()).toBe(true);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  }
  const err = caught(() => makeUniqueDir(s.path("missing", "t-")));
  expect((err as SyscallError).syscall).toBe("mkdtemp(3)");
  expect((err as SyscallError).errno).toBe(Errno.ENOENT);
});

test("createEmptyFile, unlink and accessible", () => {
  s = scratch("files");
  createEmptyFile(s.path("f"), 0o644);
  expect(readFileSync(s.path("f"), "utf8")).toBe("");
  expect((caught(() => createEmptyFile(s.path("f"), 0o644)) as SyscallError).errno).toBe(Errno.EEXIST);
  expect(accessible(s.path("f"), X_OK)).toBe(false); // 0644: not even root may execute it
  expect(accessible("/bin/sh", X_OK)).toBe(true);
  unlink(s.path("f"));
  expect(fileType(s.path("f"))).toBeUndefined();
  expect((caught(() => unlink(s.path("f"))) as SyscallError).errno).toBe(Errno.ENOENT);
});

test("a path with a NUL byte is refused before any call (C would see it cut short), nothing is made", () => {
  s = scratch("nul");
  writeFileSync(s.path("file"), "x");
  const cut = `${s.path("made")}\0/more`; // C would see .../made
  const calls: [string, () => unknown][] = [
    ["mkdir(2)", () => mkdirAll(cut, 0o700)],
    ["mkdtemp(3)", () => makeUniqueDir(cut)],
    ["open(2)", () => createEmptyFile(cut, 0o644)],
    ["open(2)", () => readTextFile(`${s.path("file")}\0`)],
    ["unlink(2)", () => unlink(`${s.path("file")}\0`)],
    ["realpath(3)", () => realpath(`${s.path("file")}\0`)],
  ];
  for (const [syscall, call] of calls) {
    const err = caught(call) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect([err.syscall, err.errnoName]).toEqual([syscall, "EINVAL"]);
  }
  expect(fileType(`${s.path("file")}\0`)).toBeUndefined();
  expect(accessible(`/bin/sh\0`, X_OK)).toBe(false);
  expect(readdirSync(s.dir)).toEqual(["file"]);
  expect(readFileSync(s.path("file"), "utf8")).toBe("x");
});
