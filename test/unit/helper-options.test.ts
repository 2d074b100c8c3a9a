// The -o string a mount.TYPE helper gets. Each expected string is what util-linux 2.38.1's
// mount(8) handed a helper (a script logging its argv, installed in a private mount namespace)
// for the same command line; test/integration/external-helper.test.ts compares the two live.
import { describe, expect, test } from "bun:test";
import { helperOptionString, readOnlyHelperOptions } from "../../src/plan/helper-options.ts";

/** [what the command line gave (its -o strings, -r as ro and -w as rw, in order), what the helper got] */
const SEEN_FROM_UTIL_LINUX: ReadonlyArray<readonly [readonly string[], string]> = [
  [[], "rw"],
  [["size=1m"], "rw,size=1m"],
  [["size=1m,ro"], "ro,size=1m"],
  [["ro"], "ro"],
  [["rw"], "rw"],
  [["ro", "rw"], "rw"], // -o ro -w
  [["rw", "ro"], "ro"], // -w -o ro
  [["rw,ro"], "ro"],
  [["defaults"], "rw"],
  [["defaults,size=1m"], "rw,size=1m"],
  [["defaults=5"], "rw"],
  [["noauto"], "rw"],
  [["auto,noauto"], "rw"],
  [["nofail"], "rw,nofail"],
  [["nofail=1"], "rw,nofail=1"],
  [["_netdev"], "rw,_netdev"],
  [["nofail,size=1m,_netdev"], "rw,size=1m,nofail,_netdev"],
  [["size=1m,nofail,a=1"], "rw,size=1m,a=1,nofail"],
  [["X-foo=1,x-bar"], "rw"],
  [["x-systemd.automount,X-mount.mode=0700"], "rw"],
  [["X-mount.mkdir"], "rw"],
  [["comment=c,size=1m"], "rw,size=1m"],
  [["helper=foo"], "rw,helper=foo"],
  [["uhelper=x"], "rw,uhelper=x"],
  [["shared,size=1m"], "rw,size=1m"],
  [["rprivate,size=1m"], "rw,size=1m"],
  [['foo="a,b",bar'], 'rw,foo="a,b",bar'],
  [["size=1m,size=2m"], "rw,size=1m,size=2m"],
  // flag words: those in force, each once, where first given; the default-naming ones never
  [["noatime,nosuid,exec"], "rw,noatime,nosuid"],
  [["nosuid,noatime"], "rw,nosuid,noatime"],
  [["nosuid,nosuid"], "rw,nosuid"],
  [["nosuid,suid"], "rw"],
  [["nosuid,suid,nosuid"], "rw,nosuid"],
  [["suid,nosuid"], "rw,nosuid"],
  [["exec"], "rw"],
  [["nodev,exec,suid,dev"], "rw"],
  [["noatime,relatime"], "rw,noatime,relatime"],
  [["relatime,noatime"], "rw,relatime,noatime"],
  [["strictatime,noatime"], "rw,strictatime,noatime"],
  [["atime"], "rw"],
  [["noatime,atime"], "rw"],
  [["sync,async"], "rw"],
  [["async"], "rw"],
  [["diratime,nodiratime"], "rw,nodiratime"],
  [["silent"], "rw,silent"],
  [["loud"], "rw"],
  [["dirsync"], "rw,dirsync"],
  [["size=1m,nodev,sync,a=b,suid,async,relatime,dirsync"], "rw,nodev,relatime,dirsync,size=1m,a=b"],
  [["strictatime,lazytime,nosymfollow,mand,iversion"], "rw,strictatime,lazytime,nosymfollow,mand,iversion"],
  [["nosymfollow,symfollow"], "rw"],
  [["lazytime,nolazytime"], "rw"],
  [["iversion,noiversion"], "rw"],
  [["mand,nomand"], "rw"],
  // user, users, owner, group: what they imply, after the flags given; after user, what undid it
  [["user"], "rw,noexec,nosuid,nodev,user"],
  [["users"], "rw,noexec,nosuid,nodev,users"],
  [["user,exec"], "rw,nosuid,nodev,user,exec"],
  [["exec,user"], "rw,noexec,nosuid,nodev,user"],
  [["user,suid"], "rw,noexec,nodev,user,suid"],
  [["user,dev,exec"], "rw,nosuid,user,exec,dev"],
  [["users,exec"], "rw,nosuid,nodev,users,exec"],
  [["users,suid,dev,exec"], "rw,users,exec,suid,dev"],
  [["user,noexec"], "rw,noexec,nosuid,nodev,user"],
  [["user,exec,noexec"], "rw,noexec,nosuid,nodev,user"],
  [["user,nosuid,suid"], "rw,noexec,nodev,user,suid"],
  [["user,rw"], "rw,noexec,nosuid,nodev,user"],
  [["ro,user,exec"], "ro,nosuid,nodev,user,exec"],
  [["nosuid,user"], "rw,nosuid,noexec,nodev,user"],
  [["nodev,user"], "rw,nodev,noexec,nosuid,user"],
  [["user,nodev"], "rw,nodev,noexec,nosuid,user"],
  [["user,exec,nofail"], "rw,nosuid,nodev,user,nofail,exec"],
  [["nofail,user,exec,size=1m"], "rw,nosuid,nodev,size=1m,nofail,user,exec"],
  [["_netdev,user,size=1m"], "rw,noexec,nosuid,nodev,size=1m,_netdev,user"],
  [["helper=x,user,exec"], "rw,nosuid,nodev,helper=x,user,exec"],
  [["user=bob"], "rw,user=bob,exec,suid,dev"],
  [["user=bob,nosuid"], "rw,nosuid,user=bob,exec,dev"],
  [["user=bob,noexec,size=1m"], "rw,noexec,size=1m,user=bob,suid,dev"],
  [["users=x"], "rw,users=x"],
  [["owner"], "rw,nosuid,nodev"],
  [["group"], "rw,nosuid,nodev"],
  [["owner,size=1m"], "rw,nosuid,nodev,size=1m"],
  [["owner,suid"], "rw,nodev"],
  [["group,dev"], "rw,nosuid"],
  [["nouser"], "rw"],
  [["nousers"], "rw"],
  [["noowner"], "rw"],
  [["nogroup"], "rw"],
  [["nouser,exec"], "rw"],
];

describe("libmount's -o string for a helper", () => {
  for (const [given, expected] of SEEN_FROM_UTIL_LINUX) {
    test(`${JSON.stringify(given)} -> ${expected}`, () => {
      expect(helperOptionString(given)).toBe(expected);
    });
  }

  test("entries as containerd's Mount.options give the same string as the one -o string", () => {
    expect(helperOptionString(["nofail", "size=1m", "user", "exec", "x-a"])).toBe(helperOptionString(["nofail,size=1m,user,exec,x-a"]));
  });

  test("the loop device's options (loop, loop=, offset=, sizelimit=) are mountkit's, never the helper's", () => {
    expect(helperOptionString(["loop,offset=1MiB,sizelimit=0x1000,size=1m"])).toBe("rw,size=1m");
    expect(helperOptionString(["loop=/dev/loop3", "ro"])).toBe("ro");
  });
});

describe("where mountkit and util-linux 2.38.1 part, on purpose", () => {
  test("recursive attributes (util-linux 2.39's, unknown to 2.38) are mountkit's to apply after the mount, never the helper's", () => {
    // 2.38.1 handed rro on as data and read ro=recursive as ro
    expect(helperOptionString(["rro"])).toBe("rw");
    expect(helperOptionString(["ro=recursive"])).toBe("rw");
  });

  test("context= is handed on: 2.38.1 dropped it only because SELinux is off on the machine compared", () => {
    expect(helperOptionString(['context="system_u:a,b"'])).toBe('rw,context="system_u:a,b"');
  });
});

test("a device attached read-only: ro in place of rw, the rest kept", () => {
  expect(readOnlyHelperOptions("rw")).toBe("ro");
  expect(readOnlyHelperOptions("rw,noatime,user")).toBe("ro,noatime,user");
  expect(readOnlyHelperOptions("ro,noatime")).toBe("ro,noatime");
});
