/**
 * `mountkit loop list` output: losetup --list's table (the same columns, widths and
 * alignment), and its --json shape ({"loopdevices": [...]}, losetup's key names).
 */
import type { LoopDevice } from "../ops/loop-list.ts";

interface Column {
  readonly header: string;
  readonly right: boolean;
  readonly value: (d: LoopDevice) => string;
}

const flag = (on: boolean) => (on ? "1" : "0");

const COLUMNS: readonly Column[] = [
  { header: "NAME", right: false, value: (d) => d.device },
  { header: "SIZELIMIT", right: true, value: (d) => String(d.sizeLimit) },
  { header: "OFFSET", right: true, value: (d) => String(d.offset) },
  { header: "AUTOCLEAR", right: true, value: (d) => flag(d.autoclear) },
  { header: "RO", right: true, value: (d) => flag(d.readOnly) },
  { header: "BACK-FILE", right: false, value: (d) => d.backingFile },
  { header: "DIO", right: true, value: (d) => flag(d.directIo) },
  { header: "LOG-SEC", right: true, value: (d) => String(d.sectorSize) },
];

/** The table, a header line first; nothing at all for no device, as losetup prints. */
export function formatLoopTable(devices: readonly LoopDevice[]): string {
  if (devices.length === 0) return "";
  const rows = [COLUMNS.map((c) => c.header), ...devices.map((d) => COLUMNS.map((c) => c.value(d)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const last = COLUMNS.length - 1;
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (COLUMNS[i]!.right ? cell.padStart(widths[i]!) : i === last ? cell : cell.padEnd(widths[i]!))).join(" ");
  return rows.map((row) => `${line(row)}\n`).join("");
}

/** losetup --list --json's document. */
export function loopListJson(devices: readonly LoopDevice[]): { loopdevices: Record<string, unknown>[] } {
  return {
    loopdevices: devices.map((d) => ({
      name: d.device,
      sizelimit: d.sizeLimit,
      offset: d.offset,
      autoclear: d.autoclear,
      ro: d.readOnly,
      "back-file": d.backingFile,
      dio: d.directIo,
      "log-sec": d.sectorSize,
    })),
  };
}
