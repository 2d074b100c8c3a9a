// The options mount's flags stand for (src/cli/commands/mount.ts): --map-users and
// --map-groups as mount(8) 2.39 turns them into X-mount.idmap=, and how that value parses.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/cli/args.ts";
import { commandLineOptions, idmapOption } from "../../src/cli/commands/mount.ts";
import { parseXMountIdmap } from "../../src/plan/x-mount-idmap.ts";
import { caught } from "../support/caught.ts";

const flags = (entries: Record<string, string[]>) => new Map(Object.entries(entries));

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
    const options = commandLineOptions(flags({ bind: [""], "map-users": ["0:1000:1"], "map-groups": ["0:1000:1"] }), ["ro,X-mount.idmap=b:0:5:1"]);
    expect(options).toEqual(["ro", "X-mount.idmap=b:0:5:1", "bind", "X-mount.idmap=u:0:1000:1 g:0:1000:1"]);
  });
});
