// Run inside `unshare --user --map-root-user --mount`: bind SRC on DST read-only through the
// library and print the result. With "--pretend-initial-userns" the planner is told it is not
// in a user namespace, reproducing containerd's lost locked flags.
import { factsForVersion } from "../../src/plan/facts.ts";
import { kernelFacts } from "../../src/ops/features.ts";
import { mount } from "../../src/ops/mount.ts";
import { SyscallError } from "../../src/errors.ts";
import { readFileSync } from "node:fs";

const [src, dst, mode] = process.argv.slice(2) as [string, string, string | undefined];
const real = kernelFacts();
const facts = mode === "--pretend-initial-userns" ? factsForVersion(real.release, { inUserNamespace: false }) : real;
try {
  mount({ type: "bind", source: src, options: ["ro"] }, dst, { facts });
  const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.split(" ")[4] === dst).pop();
  console.log(JSON.stringify({ ok: true, inUserNamespace: real.inUserNamespace, line }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, inUserNamespace: real.inUserNamespace, errno: err instanceof SyscallError ? err.errnoName : String(err) }));
}
