// rootPath (containerd's fs.RootPath) over a fake tree of symlinks: no root needed.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { MAX_ROOT_PATH_LINKS, rootPath } from "../../src/plan/root-path.ts";

/** A readlink over a table of host paths that are symlinks; it records what it was asked. */
function links(table: Record<string, string>) {
  const asked: string[] = [];
  const readlink = (p: string) => {
    asked.push(p);
    return table[p] ?? null;
  };
  return { readlink, asked };
}

describe("rootPath without links", () => {
  const { readlink } = links({});
  test.each([
    ["", "/r"],
    ["/", "/r"],
    [".", "/r"],
    ["/a/b", "/r/a/b"],
    ["a/b", "/r/a/b"],
    ["//a//./b/", "/r/a/b"],
    ["/a/../b", "/r/b"],
    ["../../../etc", "/r/etc"],
    ["/..", "/r"],
    ["a/../../..", "/r"],
  ])("%j -> %j", (path, expected) => {
    expect(rootPath("/r", path, readlink)).toBe(expected);
  });

  test("a root of / and a root with a trailing slash", () => {
    expect(rootPath("/", "/a/../../b", readlink)).toBe("/b");
    expect(rootPath("/", "", readlink)).toBe("/");
    expect(rootPath("/r/", "x", readlink)).toBe("/r/x");
  });

  test("asks readlink for each component, in order, under the root only", () => {
    const l = links({});
    rootPath("/r", "/a/b/c", l.readlink);
    expect(l.asked).toEqual(["/r/a", "/r/a/b", "/r/a/b/c"]);
  });

  test("a relative root is refused", () => {
    expect(() => rootPath("r", "/a", readlink)).toThrow(PlanError);
  });
});

describe("rootPath follows links inside the root", () => {
  test("an absolute link restarts at the root, not at the host's /", () => {
    const { readlink } = links({ "/r/etc": "/usr/etc" });
    expect(rootPath("/r", "/etc/passwd", readlink)).toBe("/r/usr/etc/passwd");
  });

  test("a relative link is taken from the directory holding it", () => {
    const { readlink } = links({ "/r/a/b": "c/d" });
    expect(rootPath("/r", "/a/b/e", readlink)).toBe("/r/a/c/d/e");
  });

  test("the last component is followed too (the mount lands on the link's target)", () => {
    const { readlink } = links({ "/r/var/run": "../run" });
    expect(rootPath("/r", "/var/run", readlink)).toBe("/r/run");
  });

  test("links to links", () => {
    const { readlink } = links({ "/r/a": "b", "/r/b": "/c", "/r/c/d": "../e" });
    expect(rootPath("/r", "/a/d/f", readlink)).toBe("/r/e/f");
  });
});

describe("rootPath never escapes the root", () => {
  test.each([
    ["an absolute link to the host's /etc", { "/r/x": "/etc" }, "/x/passwd", "/r/etc/passwd"],
    ["a link that climbs with ..", { "/r/x": "../../../../etc" }, "/x", "/r/etc"],
    ["a deep link that climbs past the root", { "/r/a/b/x": "../../../../../../tmp" }, "/a/b/x/y", "/r/tmp/y"],
    ["a link to the root's own parent by name", { "/r/x": "/../r2" }, "/x", "/r/r2"],
    ["a link to / then ..", { "/r/x": "/" }, "/x/../../y", "/r/y"],
    ["a link whose target is the host path of the root", { "/r/x": "/r/secret" }, "/x", "/r/r/secret"],
  ])("%s", (_name, table, path, expected) => {
    const { readlink, asked } = links(table);
    const result = rootPath("/r", path, readlink);
    expect(result).toBe(expected);
    for (const p of asked) expect(p.startsWith("/r/")).toBe(true);
  });

  test("a cycle of links is refused after the limit", () => {
    const { readlink, asked } = links({ "/r/a": "b", "/r/b": "a" });
    expect(() => rootPath("/r", "/a/x", readlink)).toThrow(/more than 255 symlinks/);
    expect(asked.length).toBe(MAX_ROOT_PATH_LINKS + 1);
  });

  test("a link to itself is a cycle too", () => {
    const { readlink } = links({ "/r/self": "/self" });
    expect(() => rootPath("/r", "/self", readlink)).toThrow(PlanError);
  });
});
