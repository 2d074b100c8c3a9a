// apply's input: containerd lists, OCI config.json, and the refusals that come before any mount.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { parseApplyInput } from "../../src/plan/apply-input.ts";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import { jsonErrorOffset, lineColumn, parseJsonText } from "../../src/plan/json-text.ts";

function refusal(text: string, options = {}): string {
  try {
    parseApplyInput(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(PlanError);
    return (err as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("containerd lists", () => {
  test("entries in order, numbered from 1; target optional (the root); mkdir only on request", () => {
    const text = JSON.stringify([
      { type: "tmpfs", source: "t", target: "/a", options: ["size=1m"] },
      { type: "bind", source: "/src", options: ["rbind", "ro"] },
    ]);
    const input = parseApplyInput(text);
    expect(input.format).toBe("containerd");
    expect(input.root).toBeUndefined();
    expect(input.entries.map((e) => [e.index, e.where, e.mount.target, e.mount.options])).toEqual([
      [1, "entry 1", "/a", ["size=1m"]],
      [2, "entry 2", "", ["rbind", "ro"]],
    ]);
    expect(input.entries.every((e) => e.createTarget === undefined && !e.nofail)).toBe(true);
    expect(parseApplyInput(text, { mkdir: true }).entries[0]!.createTarget).toEqual({ mode: 0o755 });
  });

  test.each([
    [`[{"source":"x","target":"/a"}]`, /entry 1: missing "type"/],
    [`[{"type":"tmpfs","target":"/a"}]`, /entry 1: missing "source"/],
    [`[{"type":"tmpfs","source":"x","Options":[]}]`, /entry 1: unknown field "Options"/],
    [`[{"type":"tmpfs","source":"x","options":"ro"}]`, /entry 1: "options" must be a list of strings/],
    [`[{"type":"tmpfs","source":"x","options":[1]}]`, /"options" must be a list of strings/],
    [`[{"type":"tmpfs","source":"x","options":[""]}]`, /empty option/],
    [`[{"type":1,"source":"x"}]`, /entry 1: "type" must be a string/],
    [`["tmpfs"]`, /entry 1: expected an object/],
    [`{"type":"tmpfs"}`, /expected a list of mounts .* or an OCI config.json/],
    [`[{"type":"tmpfs","source":"x","target":"/a\\u0000b"}]`, /NUL byte/],
  ])("%s is refused", (text, message) => {
    expect(refusal(text)).toMatch(message);
  });

  test("every bad entry is named, with its number", () => {
    const text = JSON.stringify([
      { type: "tmpfs", source: "a", target: "/a" },
      { type: "tmpfs", target: "/b" },
      { type: "tmpfs", source: "c", target: "/c" },
      { source: "d", target: "/d" },
    ]);
    const message = refusal(text, { name: "list.json" });
    expect(message).toMatch(/^apply list.json: 2 bad entries: entry 2: missing "source"; entry 4: missing "type"$/);
  });

  test("the caller's list is not shared with the entries", () => {
    const mounts = [{ type: "tmpfs", source: "x", options: ["ro"] }];
    const entries = entriesFromMounts(mounts);
    (entries[0]!.mount.options as string[]).push("nosuid");
    expect(mounts[0]!.options).toEqual(["ro"]);
    expect(entries[0]!.mount.target).toBe("");
  });
});

describe("OCI config.json", () => {
  const config = {
    ociVersion: "1.0.2",
    root: { path: "rootfs", readonly: true },
    process: { args: ["sh"] },
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/data", type: "bind", source: "/srv", options: ["rbind", "ro"], uidMappings: [{ containerID: 0, hostID: 1000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 65536 }] },
    ],
  };

  test("destination is the target, root.path the root, targets always created", () => {
    const input = parseApplyInput(JSON.stringify(config));
    expect(input.format).toBe("oci");
    expect(input.root).toBe("rootfs");
    expect(input.entries.map((e) => [e.where, e.mount.type, e.mount.target])).toEqual([
      ["entry 1 (/proc)", "proc", "/proc"],
      ["entry 2 (/dev)", "tmpfs", "/dev"],
      ["entry 3 (/data)", "bind", "/data"],
    ]);
    expect(input.entries.every((e) => e.createTarget?.mode === 0o755)).toBe(true);
    expect(input.rootReadonly).toBe(true);
    expect(parseApplyInput(JSON.stringify({ ...config, root: { path: "rootfs", readonly: false } })).rootReadonly).toBe(false);
    expect(parseApplyInput(JSON.stringify({ ...config, root: { path: "rootfs" } })).rootReadonly).toBe(false);
    expect(parseApplyInput("[]").rootReadonly).toBe(false);
  });

  test("uidMappings and gidMappings become containerd's uidmap=/gidmap= options", () => {
    const input = parseApplyInput(
      JSON.stringify({
        mounts: [
          {
            destination: "/x",
            type: "bind",
            source: "/s",
            options: ["bind"],
            uidMappings: [
              { containerID: 0, hostID: 1000, size: 1 },
              { containerID: 1, hostID: 2000, size: 10 },
            ],
            gidMappings: [{ containerID: 0, hostID: 3000, size: 5 }],
          },
        ],
      }),
    );
    expect(input.entries[0]!.mount.options).toEqual(["bind", "uidmap=0:1000:1,1:2000:10", "gidmap=0:3000:5"]);
  });

  test("runtime-spec 1.2's idmap/ridmap beside the mappings stay: they say how an rbind is idmapped", () => {
    const mappings = { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] };
    const input = parseApplyInput(
      JSON.stringify({
        mounts: [
          { destination: "/x", type: "bind", source: "/s", options: ["rbind", "ro", "idmap"], ...mappings },
          { destination: "/y", type: "bind", source: "/s", options: ["ridmap", "rbind"], ...mappings },
        ],
      }),
    );
    expect(input.entries.map((e) => e.mount.options)).toEqual([
      ["rbind", "ro", "idmap", "uidmap=0:1000:1", "gidmap=0:1000:1"],
      ["ridmap", "rbind", "uidmap=0:1000:1", "gidmap=0:1000:1"],
    ]);
  });

  test.each([
    [{ mounts: [{ type: "proc", source: "proc" }] }, /entry 1: missing "destination"/],
    [{ mounts: [{ destination: "", type: "proc" }] }, /entry 1: "destination" is empty/],
    [{ mounts: [{ destination: "/p", type: "proc", flags: 1 }] }, /entry 1: unknown field "flags"/],
    [{ mounts: [{ destination: "/p", type: "bind", uidMappings: [{ containerID: 0, hostID: -1, size: 1 }] }] }, /uidMappings\[0\]\.hostID must be an integer/],
    [{ mounts: [{ destination: "/p", type: "bind", gidMappings: [{ containerID: 0, hostID: 1, size: 0 }] }] }, /size must not be 0/],
    [{ mounts: [{ destination: "/p", type: "bind", source: "/s", options: ["bind"], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }] }, /entry 1: "uidMappings" without "gidMappings": the runtime spec requires both/],
    [{ mounts: [{ destination: "/p", type: "bind", source: "/s", options: ["bind"], gidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }] }, /entry 1: "gidMappings" without "uidMappings"/],
    [{ mounts: {} }, /"mounts" must be a list/],
    [{ root: { path: "" }, mounts: [] }, /"root" must be an object with a non-empty "path"/],
    [{ root: { path: "rootfs", readonly: "yes" }, mounts: [] }, /"root\.readonly" must be true or false/],
    [{ mounts: [{ destination: "/p", type: "bind", source: "/s", options: ["rbind", "idmap"] }] }, /entry 1: "idmap" without "uidMappings"\/"gidMappings"/],
  ])("%j is refused", (doc, message) => {
    expect(refusal(JSON.stringify(doc))).toMatch(message);
  });
});

describe("invalid JSON is refused with its line and column", () => {
  test("a bad token on line 3", () => {
    const text = '[\n  {"type": "tmpfs", "source": "a"},\n  {"type": tmpfs}\n]';
    expect(refusal(text, { name: "m.json" })).toMatch(/^apply m.json: invalid JSON at line 3, column 12: /);
  });

  test("text that ends too early points past its end", () => {
    const text = '[{"type": "tmpfs"}';
    expect(refusal(text)).toMatch(/invalid JSON at line 1, column 19/);
  });

  test.each([
    ['{"a":1,}', 7],
    ["[1 2]", 3],
    ['"tab\there"', 4],
    ["[01]", 2],
    ['{"a" 1}', 5],
    ["nul", 0],
    ["[1] x", 4],
  ])("jsonErrorOffset(%j) = %d", (text, offset) => {
    expect(jsonErrorOffset(text)).toBe(offset);
    expect(() => JSON.parse(text)).toThrow();
  });

  test.each(['{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', " [ ] ", '"x"'])("%j is valid for both", (text) => {
    expect(jsonErrorOffset(text)).toBeUndefined();
    expect(parseJsonText(text, "t")).toEqual(JSON.parse(text));
  });

  test("lineColumn counts from 1", () => {
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn("ab", 0)).toEqual({ line: 1, column: 1 });
  });
});

describe("OCI: a read-only tmpfs or /dev is made read-only at the end (runc's finalizeRootfs)", () => {
  test("its ro taken out and readOnlyLater set; other mounts, rw and a containerd list unchanged", () => {
    const text = JSON.stringify({
      mounts: [
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid,ro", "mode=755"] },
        { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["ro", "rw"] },
        { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["ro"] },
        { destination: "/dev/../dev/", type: "bind", source: "/dev", options: ["rbind", "ro"] },
        { destination: "/data", type: "bind", source: "/srv", options: ["rbind", "ro"] },
        { destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"] },
        { destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["remount", "ro"] },
        { destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["ro", "tmpcopyup"] },
      ],
    });
    const entries = parseApplyInput(text).entries;
    expect(entries.map((e) => [e.mount.target, e.mount.options, e.readOnlyLater ?? false])).toEqual([
      ["/dev", ["nosuid", "mode=755"], true],
      ["/run", ["ro", "rw"], false],
      ["/tmp", [], true],
      ["/dev/../dev/", ["rbind"], true],
      ["/data", ["rbind", "ro"], false],
      ["/sys", ["ro"], false],
      ["/mnt", ["remount", "ro"], false],
      ["/etc", ["ro", "tmpcopyup"], false], // read-only before it is attached (docs/apply.md, tmpcopyup)
    ]);
    // a containerd list: ro at once, as containerd mounts it, unless its targets are created
    // (--mkdir): then a tmpfs too, where they are created
    const listText = JSON.stringify([
      { type: "tmpfs", source: "t", target: "/dev", options: ["ro"] },
      { type: "bind", source: "/dev", target: "/dev", options: ["rbind", "ro"] },
    ]);
    const read = (mkdir: boolean) => parseApplyInput(listText, { mkdir }).entries.map((e) => [e.mount.options, e.readOnlyLater ?? false]);
    expect(read(false)).toEqual([
      [["ro"], false],
      [["rbind", "ro"], false],
    ]);
    expect(read(true)).toEqual([
      [[], true],
      [["rbind", "ro"], false],
    ]);
    expect(entriesFromMounts([{ type: "tmpfs", source: "t", options: ["ro", "size=1m"] }], { mode: 0o755 }).map((e) => [e.mount.options, e.readOnlyLater])).toEqual([[["size=1m"], true]]);
  });
});
