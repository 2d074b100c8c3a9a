/**
 * mount(2) and umount2(2), bound from libc.
 */
import { bindLibc, cArgument, cPath, syscallFailure } from "./libc.ts";

const libc = bindLibc({
  mount: { args: ["cstring", "cstring", "cstring", "u64", "cstring"], returns: "i32" },
  umount2: { args: ["cstring", "i32"], returns: "i32" },
});

/**
 * mount(source, target, fstype, flags, data); NULL for each null argument. Each string reaches
 * the kernel as the bytes it stands for (path-text.ts); one holding a NUL byte is refused
 * (EINVAL) before the call, which would see it cut there: another path, fewer options.
 */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  const call = "mount(2)";
  const cSource = cArgument(source, call, "source", source, target);
  const cTarget = cArgument(target, call, "target", target)!;
  if (libc().mount(cSource, cTarget, cArgument(fstype, call, "filesystem type", source, target), flags, cArgument(data, call, "data", source, target)) !== 0) {
    throw syscallFailure(call, [source, target]);
  }
}

/** umount2(target, flags); a target holding a NUL byte is refused (EINVAL), not cut short. */
export function umount2(target: string, flags: number): void {
  if (libc().umount2(cPath(target, "umount2(2)"), flags) !== 0) throw syscallFailure("umount2(2)", [target]);
}
