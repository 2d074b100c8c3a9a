/**
 * mount(2) and umount2(2), bound from libc.
 */
import { bindLibc, syscallFailure } from "./libc.ts";
import { cText } from "../path-text.ts";

const libc = bindLibc({
  mount: { args: ["cstring", "cstring", "cstring", "u64", "cstring"], returns: "i32" },
  umount2: { args: ["cstring", "i32"], returns: "i32" },
});

/**
 * mount(source, target, fstype, flags, data); NULL for each null argument. Each string reaches
 * the kernel as the bytes it stands for (path-text.ts).
 */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  if (libc().mount(cText(source), cText(target), cText(fstype), flags, cText(data)) !== 0) {
    throw syscallFailure("mount(2)", [source, target]);
  }
}

/** umount2(target, flags) */
export function umount2(target: string, flags: number): void {
  if (libc().umount2(cText(target), flags) !== 0) throw syscallFailure("umount2(2)", [target]);
}
