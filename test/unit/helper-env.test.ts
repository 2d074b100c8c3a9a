import { describe, expect, test } from "bun:test";
import { helperEnvironment } from "../../src/ops/helper-env.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";

const SYSTEM_PATH = HELPER_SEARCH_DIRS.join(":");

describe("a mount helper's environment", () => {
  test("PATH is the helper dirs, whatever the caller's PATH holds", () => {
    const env = helperEnvironment(HELPER_SEARCH_DIRS, { PATH: "/home/user/bin:.:/usr/bin", HOME: "/root" });
    expect(env).toEqual([`PATH=${SYSTEM_PATH}`, "HOME=/root"]);
    expect(helperEnvironment(HELPER_SEARCH_DIRS, {})).toEqual([`PATH=${SYSTEM_PATH}`]);
  });

  test("a helper dir the caller named comes first, then the system dirs (its helpers still find the standard tools)", () => {
    expect(helperEnvironment(["/opt/fuse/bin"], { PATH: "/evil" })).toEqual([`PATH=/opt/fuse/bin:${SYSTEM_PATH}`]);
    // a dir named twice is searched once, at its first place
    expect(helperEnvironment(["/usr/bin"], {})).toEqual(["PATH=/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin"]);
  });

  test("what makes a shell run code or bypass PATH is dropped; everything else is passed on as it is", () => {
    const env = helperEnvironment(HELPER_SEARCH_DIRS, {
      BASH_ENV: "/tmp/x.sh",
      ENV: "/tmp/y.sh",
      "BASH_FUNC_fuse-overlayfs%%": "() { id; }",
      HOME: "/home/u",
      SSH_AUTH_SOCK: "/run/ssh.sock",
      LANG: "C.UTF-8",
      EMPTY: "",
      UNSET: undefined,
    });
    expect(env).toEqual([`PATH=${SYSTEM_PATH}`, "HOME=/home/u", "SSH_AUTH_SOCK=/run/ssh.sock", "LANG=C.UTF-8", "EMPTY="]);
  });
});
