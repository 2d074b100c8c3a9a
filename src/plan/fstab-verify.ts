/**
 * findmnt --verify: what is wrong with an fstab before a boot finds out, as util-linux's
 * findmnt checks it: each line's target, source, type and options, and the lines' order.
 * Errors are what makes `mount -a` fail on that line; warnings what is suspicious. Pure: what
 * the system holds comes in through VerifyFacts.
 */
import { normalize } from "../path.ts";
import type { BatchEntry } from "./batch-entry.ts";
import { deviceTagOf } from "./device-tag.ts";
import { fstabEntry, lineName, type FstabLine } from "./fstab.ts";
import { PlanError } from "../errors.ts";

/** What a path is, as far as the checks care. */
export type VerifyPathType = "dir" | "file" | "block" | "other";

/** The system, as the checks see it. */
export interface VerifyFacts {
  /** what path names (links followed); undefined when it does not exist */
  pathType(path: string): VerifyPathType | undefined;
  /** the device a LABEL=, UUID=, PARTUUID=... source names; undefined when none does */
  taggedDevice(source: string): string | undefined;
  /** whether this kernel (loaded or as a module) or a mount.TYPE helper mounts the type */
  knownType(type: string): boolean;
  /** the type in a block device's superblock; undefined when it cannot be read or is unknown */
  probedType(device: string): string | undefined;
  /** why mountkit or the kernel would refuse the line's options (planned, then asked of the kernel without mounting), or undefined */
  planProblem(entry: BatchEntry): string | undefined;
}

export type VerifyLevel = "error" | "warning" | "info";

export interface VerifyNote {
  readonly level: VerifyLevel;
  readonly message: string;
}

export interface LineVerdict {
  readonly line: FstabLine;
  readonly notes: readonly VerifyNote[];
}

export interface FstabVerdict {
  /** the bad lines' problems, as the parser words them ("line 3: 2 fields, ...") */
  readonly parseErrors: readonly string[];
  readonly lines: readonly LineVerdict[];
  readonly errors: number;
  readonly warnings: number;
}

/** Types that name no filesystem of the kernel's. */
const PSEUDO_TYPES = new Set(["none", "bind", "rbind", "auto", "swap", "ignore"]);

/** Check every line; parseErrors are passed through, counted as errors' peers. */
export function verifyFstab(lines: readonly FstabLine[], parseErrors: readonly string[], facts: VerifyFacts): FstabVerdict {
  const earlier = new EarlierLines();
  const verdicts = lines.map((line) => {
    const notes = verifyLine(line, earlier, facts);
    earlier.add(line);
    return { line, notes };
  });
  return { parseErrors, lines: verdicts, errors: countNotes(verdicts, "error"), warnings: countNotes(verdicts, "warning") };
}

/** How many notes of a level some lines have (findmnt --verify -t counts the lines it shows). */
export function countNotes(verdicts: readonly LineVerdict[], level: VerifyLevel): number {
  return verdicts.reduce((n, v) => n + v.notes.filter((note) => note.level === level).length, 0);
}

/**
 * The lines checked so far, indexed by mount point: the first line on each mount point, and
 * for each directory the first mounting line (noauto aside) below it. A line is compared with
 * its earlier ones by a look-up, not a scan of them all: a scan made 100 000 lines take hours.
 */
class EarlierLines {
  private readonly firstOn = new Map<string, FstabLine>();
  private readonly firstBelow = new Map<string, FstabLine>();

  add(line: FstabLine): void {
    if (!line.target.startsWith("/")) return;
    const target = comparable(line.target);
    if (!this.firstOn.has(target)) this.firstOn.set(target, line);
    if (isNoauto(line) || target === "/") return;
    // every directory above the target, "/" included, has it below
    for (let slash = target.lastIndexOf("/"); slash >= 0; slash = target.lastIndexOf("/", slash - 1)) {
      const above = slash === 0 ? "/" : target.slice(0, slash);
      if (this.firstBelow.has(above)) break; // and so have those above it: an earlier line set them
      this.firstBelow.set(above, line);
      if (slash === 0) break;
    }
  }

  /** the first earlier line on this mount point (comparable form) */
  on(target: string): FstabLine | undefined {
    return this.firstOn.get(target);
  }

  /** the first earlier line, noauto ones aside, whose mount point is strictly below this one */
  below(target: string): FstabLine | undefined {
    return this.firstBelow.get(target);
  }
}

function verifyLine(line: FstabLine, earlier: EarlierLines, facts: VerifyFacts): VerifyNote[] {
  const notes: VerifyNote[] = [];
  const note = (level: VerifyLevel, message: string): VerifyNote => {
    const made = { level, message };
    notes.push(made);
    return made;
  };
  const swap = line.fstype === "swap" || line.target === "swap";
  // what mount -a skips or forgives is not worth an error
  const optional = line.options.includes("noauto") || line.options.includes("nofail");
  // a missing target or source: noted once (an error, or a warning for an optional line) and
  // remembered, so that planning the line does not say it again, as an error
  let unreachable = false;
  const missing = (message: string) => {
    unreachable = true;
    note(optional ? "warning" : "error", message);
  };
  const bind = line.options.some((o) => o === "bind" || o === "rbind") || line.fstype === "bind" || line.fstype === "rbind";

  if (!swap) verifyTarget(line, earlier, facts, note, missing, bind);
  // a swap line's missing device path is findmnt's warning (swapon's to fail, not mount -a's); its missing tag stays an error, as findmnt's
  const missingPath = swap ? (message: string) => note("warning", message) : missing;
  const device = verifySource(line, facts, note, missing, missingPath, bind);
  if (swap) {
    if (device !== undefined && facts.pathType(device) !== undefined) note("info", "swap area");
    return notes;
  }
  const unknownType = verifyType(line, device, facts, note);
  if (line.target.startsWith("/")) {
    let entry: BatchEntry | undefined;
    try {
      entry = fstabEntry(line);
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      note(optional ? "warning" : "error", err.message.slice(`${lineName(line)}: `.length));
    }
    // planning a line whose source or target is missing would only say so again
    const problem = entry === undefined || unreachable || notes.some((n) => n.level === "error") ? undefined : facts.planProblem(entry);
    if (problem !== undefined) {
      // the kernel's refusal of a type /proc/filesystems lacks says why, where the warning guessed
      // (a module it loads on demand is no refusal): one note for one cause
      if (unknownType !== undefined) notes.splice(notes.indexOf(unknownType), 1);
      note(optional ? "warning" : "error", problem);
    }
  }
  if (line.target === "/" && line.passno !== 1 && line.passno !== 0) note("warning", `recommended root filesystem pass number is 1 (it is ${line.passno})`);
  return notes;
}

type Note = (level: VerifyLevel, message: string) => VerifyNote;
type Missing = (message: string) => void;

function verifyTarget(line: FstabLine, earlier: EarlierLines, facts: VerifyFacts, note: Note, missing: Missing, bind: boolean): void {
  if (!line.target.startsWith("/")) {
    note("error", `target ${JSON.stringify(line.target)} is not an absolute path`);
    return;
  }
  const target = comparable(line.target);
  const same = earlier.on(target);
  if (same !== undefined) note("warning", `target specified more than once (also ${lineName(same)}): mounted on top of it`);
  // A mount point listed before its parent is hidden by the parent's mount when mount -a gets to it.
  // (the root is mounted before mount -a runs, which skips it)
  const hidden = target === "/" ? undefined : earlier.below(target);
  if (hidden !== undefined && !isNoauto(line)) note("warning", `order is wrong: ${hidden.target} (${lineName(hidden)}) is mounted before it, and this mount hides it`);
  const type = facts.pathType(line.target);
  if (type === undefined) {
    const mkdir = line.options.some((o) => o === "X-mount.mkdir" || o.startsWith("X-mount.mkdir=") || o === "x-mount.mkdir" || o.startsWith("x-mount.mkdir="));
    if (mkdir) note("info", "target does not exist; X-mount.mkdir creates it");
    else missing("target does not exist");
  } else if (type !== "dir" && !(bind && type === "file")) {
    note("error", `target is not a directory${bind ? " (nor a file, for a bind of one)" : ""}`);
  }
}

/** The device the line mounts, when its source names one (a path or a tag); undefined for "tmpfs", "server:/x"... */
function verifySource(line: FstabLine, facts: VerifyFacts, note: Note, missing: Missing, missingPath: Missing, bind: boolean): string | undefined {
  const tag = deviceTagOf(line.source);
  if (tag !== undefined) {
    const spec = `${tag.name}=${tag.value}`;
    const device = facts.taggedDevice(line.source);
    if (device === undefined) missing(`unreachable source: ${spec}`);
    else note("info", `source ${spec} is ${device}`);
    return device;
  }
  if (!line.source.startsWith("/")) return undefined;
  const type = facts.pathType(line.source);
  if (type === undefined) {
    missingPath(`unreachable source: ${line.source}`);
    return undefined;
  }
  if (bind) return undefined;
  return type === "block" ? line.source : undefined;
}

/** The type's checks; returns the note on a type the kernel does not list, when it made one. */
function verifyType(line: FstabLine, device: string | undefined, facts: VerifyFacts, note: Note): VerifyNote | undefined {
  const listed = line.fstype.split(",").filter((t) => t !== "");
  const wanted = listed.filter((t) => !PSEUDO_TYPES.has(t));
  let unknown: VerifyNote | undefined;
  for (const type of wanted) {
    if (isHelperOnly(type) || facts.knownType(type)) continue;
    const noted = note("warning", `unknown filesystem type ${JSON.stringify(type)}`);
    unknown ??= noted;
  }
  if (device === undefined) return unknown;
  const onDisk = facts.probedType(device);
  const auto = listed.length === 0 || listed.includes("auto");
  if (onDisk === undefined) {
    if (auto) note("error", `cannot detect the on-disk filesystem type of ${device}`);
    return unknown;
  }
  if (auto) note("info", `on-disk type: ${onDisk}`);
  else if (wanted.length > 0 && !wanted.some((t) => sameFamily(t, onDisk))) {
    note("warning", `type ${line.fstype} does not match the on-disk ${onDisk}`);
  }
  return unknown;
}

/** FUSE types and the like are mounted by their helpers: the kernel has no such name. */
function isHelperOnly(type: string): boolean {
  return type.startsWith("fuse.") || type.startsWith("fuse3.") || type === "fuse" || type === "fuse3";
}

/** The ext4 driver mounts ext2 and ext3 too: a line saying ext3 for an ext4-featured volume is no mismatch worth a word. */
function sameFamily(type: string, onDisk: string): boolean {
  return type === onDisk || (/^ext[234]$/.test(type) && /^ext[234]$/.test(onDisk));
}

function isNoauto(line: FstabLine): boolean {
  return line.options.includes("noauto") || line.fstype === "swap";
}

/** A path as mount points compare: normalized, no trailing slash. */
function comparable(path: string): string {
  const normal = normalize(path);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}
