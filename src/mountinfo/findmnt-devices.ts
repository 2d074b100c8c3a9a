/**
 * findmnt's device columns: UUID, LABEL, PARTUUID, PARTLABEL (what blkid reads from the device
 * a source names) and SOURCES (every device carrying the source's tag). Pure: the device reads
 * are handed in (ops/block-devices.ts makes them). Checked against util-linux 2.38 findmnt by
 * test/integration/findmnt-columns.test.ts.
 */
import { parseTagSpec, type TagSpec } from "../tag-spec.ts";
import type { Column, Columns } from "./findmnt.ts";

/** A device's ids as blkid reports them: its filesystem's UUID and label, its partition entry's. */
export interface DeviceIds {
  readonly uuid?: string | undefined;
  readonly label?: string | undefined;
  readonly partuuid?: string | undefined;
  readonly partlabel?: string | undefined;
}

/** The reads the device columns need. */
export interface SourceDevices {
  /** the ids of what a source names: a path's device (or image file), a tag's device; {} when none */
  readonly idsOf: (spec: string) => DeviceIds;
  /** every device carrying the tag, in the kernel's order (/proc/partitions) */
  readonly carrying: (tag: TagSpec) => readonly string[];
}

/** The names of the columns deviceColumns makes. */
export const DEVICE_COLUMN_NAMES: readonly string[] = ["UUID", "LABEL", "PARTUUID", "PARTLABEL", "SOURCES"];

/**
 * The device columns of a row whose source (as written: a path, a name, or a tag) specOf gives,
 * as findmnt fills them: a tag's own value when the source is that tag (UUID of UUID=x is x), else
 * what the device it names holds, empty when it names none. SOURCES lists the devices carrying
 * the source's UUID (a /dev path's) or, with evaluate (-e), its tag; else, and when none does,
 * it is the SOURCE column's text.
 */
export function deviceColumns<T>(specOf: (row: T) => string | undefined, source: Column<T>, devices: SourceDevices, evaluate: boolean): Columns<T> {
  const idColumn = (name: "UUID" | "LABEL" | "PARTUUID" | "PARTLABEL", pick: (ids: DeviceIds) => string | undefined): Column<T> => ({
    value: (row) => {
      const spec = specOf(row);
      if (!spec) return null;
      const tag = parseTagSpec(spec);
      if (tag?.name === name) return tag.value;
      return pick(devices.idsOf(spec)) ?? null;
    },
    // findmnt's absolute width hints: a UUID's 36 characters
    ...(name === "UUID" || name === "PARTUUID" ? { widthHint: 36 } : {}),
  });
  return {
    UUID: idColumn("UUID", (ids) => ids.uuid),
    LABEL: idColumn("LABEL", (ids) => ids.label),
    PARTUUID: idColumn("PARTUUID", (ids) => ids.partuuid),
    PARTLABEL: idColumn("PARTLABEL", (ids) => ids.partlabel),
    SOURCES: {
      value: (row) => {
        const found = sourceDevices(specOf(row), devices, evaluate);
        if (found.length > 0) return found;
        const text = source.value(row);
        return text === null ? [] : [String(text)];
      },
    },
  };
}

/** findmnt's SOURCES devices: for a tag (with -e), those carrying it; for a /dev path, those carrying its UUID. */
function sourceDevices(spec: string | undefined, devices: SourceDevices, evaluate: boolean): readonly string[] {
  if (!spec) return [];
  const tag = parseTagSpec(spec);
  if (tag !== undefined) return evaluate ? devices.carrying(tag) : [];
  if (!spec.startsWith("/dev/")) return [];
  const uuid = devices.idsOf(spec).uuid;
  return uuid === undefined ? [] : devices.carrying({ name: "UUID", value: uuid });
}

/**
 * findmnt -C (--nocanonicalize): libmount without its cache looks no tag up, so a tag source
 * (UUID=x in an fstab) names no device: its own column is still its value (UUID of UUID=x),
 * the others are empty. Paths are read as before (findmnt's udev lookup resolves them itself).
 */
export function tagsUnresolved(devices: SourceDevices): SourceDevices {
  return { idsOf: (spec) => (parseTagSpec(spec) !== undefined ? {} : devices.idsOf(spec)), carrying: devices.carrying };
}
