// The options mount's flags stand for (src/cli/commands/mount.ts): --map-users and
// --map-groups as mount(8) 2.39 turns them into X-mount.idmap=, and how that value parses.
import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { commandLineOptions, idmapOption, MOUNT_FLAGS, readWriteOnly } from "../../src/cli/commands/mount.ts";
import { parseXMountIdmap } from "../../src/plan/x-mount-idmap.ts";
import { caught } from "../support/caught.ts";

const options = (...argv: string[]) => commandLineOptions(parseArgs("mount", argv, MOUNT_FLAGS));

describe("--map-users and --map-groups", () => {
  test("each mapping gets its kind's prefix, in the order given; both kinds reach their own map", () => {
    const option = idmapOption(["0:100000:65536", "=65536:0:1"], ["0:200000:65536"]);
    expect(option).toBe("X-mount.idmap=u:0:100000:65536 u:65536:0:1 g:0:200000:65536");
    expect(parseXMountIdmap(option!.slice("X-mount.idmap=".length))).toEqual({ kind: "maps", uidmap: "0:100000:65536,65536:0:1", gidmap: "0:200000:65536" });
  });

  test("a value holding several mappings (blank- or comma-separated, as containerd writes them): every one prefixed", () => {
    // unprefixed, the second would be mount(8)'s b: (both kinds): a group mapping given as a user's
    expect(idmapOption(["0:100000:65536,65536:0:1"], ["0:100000:65536 65536:0:1"])).toBe("X-mount.idmap=u:0:100000:65536 u:65536:0:1 g:0:100000:65536 g:65536:0:1");
  });

  test("a user namespace file, to either flag, stands for both kinds; given with anything else it is refused", () => {
    expect(idmapOption(["/proc/42/ns/user"], [])).toBe("X-mount.idmap=/proc/42/ns/user");
    expect(idmapOption([], ["=/proc/42/ns/user"])).toBe("X-mount.idmap=/proc/42/ns/user");
    for (const [users, groups] of [
      [["/proc/42/ns/user"], ["0:1:1"]],
      [["/proc/42/ns/user", "/proc/43/ns/user"], []],
      [["0:1:1"], ["/proc/42/ns/user"]],
    ] as const) {
      const err = caught(() => idmapOption(users, groups));
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toContain("a user namespace file maps users and groups: give it once");
    }
  });

  test("none given: no option; an empty one: a usage error", () => {
    expect(idmapOption([], [])).toBeUndefined();
    expect(caught(() => idmapOption([" , "], []))).toBeInstanceOf(UsageError);
  });

  test("after -o's options and the other flags', as mount(8) appends it (so it wins over an -o X-mount.idmap)", () => {
    const options = commandLineOptions(parseArgs("mount", ["--bind", "--map-users", "0:1000:1", "--map-groups", "0:1000:1", "-o", "ro,X-mount.idmap=b:0:5:1"], MOUNT_FLAGS));
    expect(options).toEqual(["ro", "X-mount.idmap=b:0:5:1", "bind", "X-mount.idmap=u:0:1000:1 g:0:1000:1"]);
  });
});

describe("-r, -w and -o in command-line order, as mount(8) appends each where it stands", () => {
  const cases: [string[], string[]][] = [
    [["-w", "-r"], ["rw", "ro"]],
    [["-r", "-w"], ["ro", "rw"]],
    [["-w", "-o", "ro"], ["rw", "ro"]],
    [["-o", "ro", "-w"], ["ro", "rw"]],
    [["-r", "-o", "rw,size=1m"], ["ro", "rw", "size=1m"]],
    [["-o", "nosuid", "-r", "-o", "size=1m"], ["nosuid", "ro", "size=1m"]],
    [["-w", "--bind", "-r"], ["rw", "ro", "bind"]],
    [["-rw"], ["ro", "rw"]],
    // --make-*: each word where it stands, as mount(8) appends them (the kernel's result depends
    // on the order: slave then shared is a shared slave, shared then slave a plain slave)
    [["--make-slave", "--make-shared"], ["slave", "shared"]],
    [["--make-shared", "--make-slave"], ["shared", "slave"]],
    [["--make-rprivate", "-o", "ro", "--make-unbindable"], ["rprivate", "ro", "unbindable"]],
  ];
  for (const [argv, expected] of cases) {
    test(argv.join(" "), () => expect(options(...argv, "a", "b")).toEqual(expected));
  }

  test("--bind, --rbind and --move exclude each other, as mount(8)'s \"mutually exclusive arguments\"", () => {
    for (const argv of [["--bind", "--rbind"], ["-R", "-B"], ["-B", "-M"], ["--rbind", "--move"]]) {
      const err = caught(() => options(...argv, "a", "b"));
      expect([argv, err]).toEqual([argv, expect.any(UsageError)]);
      expect((err as Error).message).toContain("exclude each other: give one");
    }
    expect(options("-B", "-B", "a", "b")).toEqual(["bind"]);
  });

  test("--bind, --rbind and --move with -t TYPE, -L or -U are refused, as mount(8)'s \"bad usage\": the type or device would be ignored", () => {
    for (const [argv, named] of [
      [["--bind", "-t", "tmpfs"], "--bind does not go with -t tmpfs: a bind mount has its source's filesystem"],
      [["-t", "ext4", "-R"], "--rbind does not go with -t ext4"],
      [["--move", "-t", "notmpfs"], "--move does not go with -t notmpfs: a moved mount keeps its filesystem"],
      [["-B", "-L", "data"], "--bind does not go with -L"],
      [["-M", "-U", "1234"], "--move does not go with -U"],
    ] as const) {
      const err = caught(() => options(...argv, "a", "b"));
      expect([argv, err]).toEqual([argv, expect.any(UsageError)]);
      expect((err as Error).message).toContain(named);
    }
    // -t none names no filesystem; --source names only the source; -o bind is not the flag (mount(8) takes both)
    expect(options("--bind", "-t", "none", "a", "b")).toEqual(["bind"]);
    expect(options("--bind", "-t", "", "a", "b")).toEqual(["bind"]); // "empty filesystem type", when the request is made
    expect(options("--rbind", "--source", "a", "b")).toEqual(["rbind"]);
    expect(options("-o", "bind", "-t", "tmpfs", "a", "b")).toEqual(["bind"]);
    expect(options("--make-private", "-t", "tmpfs", "b")).toEqual(["private"]);
  });

  test("-w asks for read-write only when no -r comes after it", () => {
    const rw = (...argv: string[]) => readWriteOnly(parseArgs("mount", argv, MOUNT_FLAGS));
    expect(rw("-w")).toEqual({ readWriteOnly: true });
    expect(rw("-w", "-r")).toEqual({});
    expect(rw("-r", "-w")).toEqual({ readWriteOnly: true });
    expect(rw("-o", "rw")).toEqual({});
  });
});
