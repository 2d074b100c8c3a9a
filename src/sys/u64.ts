/**
 * u64 fields of kernel structs as numbers, read and written in little-endian halves:
 * getBigUint64 makes a BigInt on the heap per call. Exact below 2^53 (mount IDs, masks,
 * magics); a value that can be above (an inode number: overlay's xino puts a layer's index in
 * its top bits) is kept in halves by its reader instead.
 */
export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * 2 ** 32 + view.getUint32(offset, true);
}

export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 2 ** 32, true);
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}
