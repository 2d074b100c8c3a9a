/**
 * containerd's id mappings, `container:host:size[,container:host:size...]` (uidmap=, gidmap=),
 * parsed and checked against every rule the kernel applies when uid_map/gid_map is written
 * (kernel/user_namespace.c map_write), so a bad mapping is a PlanError before any syscall.
 * Pure.
 */
import { PlanError, shownValue } from "../errors.ts";

export interface IdMapping {
  /** first id inside the user namespace (the container's view) */
  readonly containerId: number;
  /** first id outside it (on the host, as files store it) */
  readonly hostId: number;
  /** how many consecutive ids */
  readonly size: number;
}

/** Which option a mapping came from, named in errors. */
export type MappingOption = "uidmap" | "gidmap";

/** UID_GID_MAP_MAX_EXTENTS: the kernel refuses more lines. */
export const MAX_MAPPINGS = 340;

/** (u32)-1 is no id; an extent's first + size must not pass it (the kernel's wrap check). */
export const ID_LIMIT = 0xffffffff;

const DECIMAL = /^[0-9]+$/;

/**
 * Parse a uidmap=/gidmap= value. containerd rejects: a mapping without exactly three fields,
 * a field that is not a number, a number out of range, a negative number. The kernel also
 * rejects (as EINVAL, after the helper process exists): size 0, a range that runs past
 * 4294967294, overlapping container ranges, overlapping host ranges, more than 340 lines.
 * All are refused here, each with the mapping it is about.
 */
export function parseIdMappings(option: MappingOption, text: string): IdMapping[] {
  // it names every message: a number here made "5: empty mapping"
  if (option !== "uidmap" && option !== "gidmap") throw new PlanError(`parse id mappings: option must be "uidmap" or "gidmap", got ${shownValue(option)}`);
  if (typeof text !== "string") throw new PlanError(`${option}: expected container:host:size mappings (a string), got ${shownValue(text)}`);
  if (text === "") throw mappingError(option, text, "empty mapping", "give container:host:size, e.g. 0:100000:65536");
  const entries = text.split(",");
  if (entries.length > MAX_MAPPINGS) {
    throw mappingError(option, text, `${entries.length} mappings, the kernel accepts at most ${MAX_MAPPINGS}`);
  }
  const mappings = entries.map((entry) => parseOne(option, entry));
  checkOverlaps(option, mappings);
  return mappings;
}

function parseOne(option: MappingOption, entry: string): IdMapping {
  const fields = entry.split(":");
  if (fields.length !== 3) {
    throw mappingError(option, entry, "expected container-id:host-id:size", "separate mappings with commas");
  }
  const [containerId, hostId, size] = [
    parseField(option, entry, "container id", fields[0]!, ID_LIMIT - 1),
    parseField(option, entry, "host id", fields[1]!, ID_LIMIT - 1),
    parseField(option, entry, "size", fields[2]!, ID_LIMIT),
  ];
  if (size === 0) throw mappingError(option, entry, "size is 0");
  for (const [what, first] of [["container", containerId], ["host", hostId]] as const) {
    if (first + size > ID_LIMIT) {
      throw mappingError(option, entry, `${what} range ${first}..${first + size - 1} passes the largest id ${ID_LIMIT - 1}`);
    }
  }
  return { containerId, hostId, size };
}

function parseField(option: MappingOption, entry: string, what: string, field: string, max: number): number {
  if (field.startsWith("-") && DECIMAL.test(field.slice(1))) {
    throw mappingError(option, entry, `${what} ${field} is negative`);
  }
  if (!DECIMAL.test(field)) {
    throw mappingError(option, entry, `${what} ${JSON.stringify(field)} is not a decimal number`);
  }
  const value = Number(field);
  // Leading zeros are accepted (containerd's strconv.Atoi does); the value is what counts.
  if (value > max) throw mappingError(option, entry, `${what} ${field} is out of range (at most ${max})`);
  return value;
}

/** The kernel's mappings_overlap(): container ranges may not overlap, nor may host ranges. */
function checkOverlaps(option: MappingOption, mappings: readonly IdMapping[]): void {
  for (let i = 0; i < mappings.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = mappings[j]!;
      const b = mappings[i]!;
      const side = overlaps(a.containerId, b.containerId, a.size, b.size)
        ? "container"
        : overlaps(a.hostId, b.hostId, a.size, b.size)
          ? "host"
          : undefined;
      if (side) {
        throw mappingError(option, `${formatMapping(a)},${formatMapping(b)}`, `${side} id ranges overlap`);
      }
    }
  }
}

function overlaps(firstA: number, firstB: number, sizeA: number, sizeB: number): boolean {
  return firstA < firstB + sizeB && firstB < firstA + sizeA;
}

function mappingError(option: MappingOption, mapping: string, detail: string, hint?: string): PlanError {
  return new PlanError(`${option}: invalid mapping ${JSON.stringify(mapping)}: ${detail}`, hint ? { hint } : undefined);
}

/** "0:100000:65536": the option syntax. */
export function formatMapping(m: IdMapping): string {
  return `${m.containerId}:${m.hostId}:${m.size}`;
}

/** The text written to /proc/PID/uid_map or gid_map: one "container host size" line each. */
export function idMapFileText(mappings: readonly IdMapping[]): string {
  return mappings.map((m) => `${m.containerId} ${m.hostId} ${m.size}\n`).join("");
}

/**
 * The kernel takes a map in one write(2) shorter than a page; 340 lines of large ids are
 * longer than that. Checked against the page size of this machine.
 */
export function checkMapFileSize(option: MappingOption, mappings: readonly IdMapping[], pageSize: number): void {
  const bytes = Buffer.byteLength(idMapFileText(mappings));
  if (bytes >= pageSize) {
    throw new PlanError(`${option}: the mappings are ${bytes} bytes as a map file; the kernel takes less than one ${pageSize}-byte page`);
  }
}

/** Both mappings of one user namespace, validated and in canonical form. */
export interface IdMappingPair {
  readonly uidmap: readonly IdMapping[];
  readonly gidmap: readonly IdMapping[];
}

/**
 * The uidmap=/gidmap= pair of a mount. An idmapped mount maps through one user namespace
 * with both maps, so both are required: containerd mounts without any idmap when only one is
 * given, silently; an id outside a missing map would show as the overflow id (65534) and
 * could not be written, so a lone map is refused instead.
 */
/**
 * Valid pairs already parsed, by their option text: a batch or a benchmark mounts the same
 * mapping again and again, and parsing and validating it cost about 1 us each time. Bounded.
 * Every pair handed out is shared (plans carry its arrays), so it is frozen all the way down:
 * the pair, both arrays and each mapping.
 */
// uidmap -> gidmap -> the pair, checked against one page size (another size parses again)
const parsedPairs = new Map<string, Map<string, { readonly pair: IdMappingPair; readonly pageSize: number }>>();
let parsedCount = 0;
const PARSED_PAIRS_LIMIT = 64;

export function idMappingPair(
  uidmap: string | undefined,
  gidmap: string | undefined,
  pageSize: number,
  request: string | { readonly action: string },
): IdMappingPair {
  if (typeof request !== "string" && (typeof request !== "object" || request === null || typeof request.action !== "string")) {
    throw new PlanError(`id mapping pair: request must be an action (a string) or an object with one, got ${shownValue(request)}`);
  }
  // the size of the map files written: NaN or "4096" compared as no size at all
  if (!Number.isSafeInteger(pageSize) || pageSize <= 0) throw new PlanError(`${actionOf(request)}: pageSize must be a whole number of bytes from 1, got ${shownValue(pageSize)}`);
  if (uidmap === undefined || gidmap === undefined) {
    const [given, missing] = uidmap === undefined ? ["gidmap", "uidmap"] : ["uidmap", "gidmap"];
    throw new PlanError(`${actionOf(request)}: ${given} given without ${missing}: an idmapped mount needs both`, {
      hint: `add ${missing}=container:host:size (the same value as ${given} when ids map alike); containerd ignores a lone ${given} and mounts without idmapping`,
    });
  }
  const known = parsedPairs.get(uidmap)?.get(gidmap);
  if (known !== undefined && known.pageSize === pageSize) return known.pair;
  try {
    const pair: IdMappingPair = Object.freeze({
      uidmap: frozenMappings(parseIdMappings("uidmap", uidmap)),
      gidmap: frozenMappings(parseIdMappings("gidmap", gidmap)),
    });
    checkMapFileSize("uidmap", pair.uidmap, pageSize);
    checkMapFileSize("gidmap", pair.gidmap, pageSize);
    if (parsedCount >= PARSED_PAIRS_LIMIT) {
      parsedPairs.clear();
      parsedCount = 0;
    }
    let byGidmap = parsedPairs.get(uidmap);
    if (byGidmap === undefined) parsedPairs.set(uidmap, (byGidmap = new Map()));
    byGidmap.set(gidmap, { pair, pageSize });
    parsedCount++;
    return pair;
  } catch (err) {
    if (!(err instanceof PlanError)) throw err;
    throw new PlanError(`${actionOf(request)}: ${err.message}`, err.hint === undefined ? undefined : { hint: err.hint });
  }
}

/** A request's action, described only for an error. */
function actionOf(request: string | { readonly action: string }): string {
  return typeof request === "string" ? request : request.action;
}

function frozenMappings(mappings: IdMapping[]): readonly IdMapping[] {
  for (const m of mappings) Object.freeze(m);
  return Object.freeze(mappings);
}

// By the map arrays, which parsed pairs share (frozen): plans and steps that copy the two
// arrays into objects of their own still find the key already made.
const pairKeys = new WeakMap<readonly IdMapping[], WeakMap<readonly IdMapping[], string>>();

/** A key equal for equal namespaces however the options were spelled (leading zeros). */
export function mappingPairKey(pair: IdMappingPair): string {
  let byGidmap = pairKeys.get(pair.uidmap);
  if (byGidmap === undefined) pairKeys.set(pair.uidmap, (byGidmap = new WeakMap()));
  let key = byGidmap.get(pair.gidmap);
  if (key === undefined) {
    key = `${pair.uidmap.map(formatMapping).join(",")}|${pair.gidmap.map(formatMapping).join(",")}`;
    byGidmap.set(pair.gidmap, key);
  }
  return key;
}
