/**
 * A small getopt: short flags (clustered -rv, values as -t tmpfs or -ttmpfs), long flags
 * (--types tmpfs, --types=tmpfs, or a beginning of one no other shares: --ty tmpfs), `--` ends
 * the flags. Unknown flags are usage errors.
 */
import { PlanError, quotePath, quoted } from "../errors.ts";

export interface FlagSpec {
  readonly long: string;
  readonly short?: string;
  /** the flag takes a value; the placeholder shown in --help */
  readonly value?: string;
  /**
   * the flag may take a value, as getopt's optional_argument: only as --flag=VALUE or -fVALUE
   * (never the next argument); without one it records ""
   */
  readonly optionalValue?: string;
  readonly help: string;
  /** more names for the same flag (e.g. --fake for --dry-run) */
  readonly aliases?: readonly string[];
  /** more letters for the same flag (losetup's -E for -e) */
  readonly shortAliases?: readonly string[];
}

export interface ParsedArgs {
  /** every value of each flag, in order; a flag without a value records "" */
  readonly flags: ReadonlyMap<string, readonly string[]>;
  readonly operands: readonly string[];
  /** every flag given, as [long, value], in command-line order: for flags whose order matters (mount's -o, -r, -w) */
  readonly sequence: readonly (readonly [string, string])[];
}

export class UsageError extends PlanError {}

/**
 * The flag a long name means, as getopt_long(3) reads it: the name exactly, else the one flag
 * whose name (or alias) it begins (--verb for --verbose); a beginning shared by several flags is
 * ambiguous.
 */
function longFlag(byLong: ReadonlyMap<string, FlagSpec>, name: string): { spec: FlagSpec; problem?: undefined } | { spec?: undefined; problem: string } {
  const exact = byLong.get(name);
  if (exact) return { spec: exact };
  const names = name === "" ? [] : [...byLong.keys()].filter((long) => long.startsWith(name));
  const specs = new Set(names.map((long) => byLong.get(long)!));
  if (specs.size === 1) return { spec: [...specs][0]! };
  if (specs.size === 0) return { problem: `unknown option --${name}` };
  return { problem: `option --${name} is ambiguous; possibilities: ${names.map((long) => `--${long}`).join(" ")}` };
}

export function parseArgs(command: string, argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const { args, error } = readArgs(command, argv, specs);
  if (error) throw error;
  return args;
}

/**
 * parseArgs' reading for a command that acts on each flag as getopt(3) hands it over, in order
 * (losetup's -h before a bad flag prints the help; after it, the error ends the command): the
 * flags read, and the first problem, not thrown, with where it came (args.sequence before
 * errorAt came before it; every flag when there is none).
 */
export function parseArgsInOrder(command: string, argv: readonly string[], specs: readonly FlagSpec[]): { args: ParsedArgs; error: UsageError | undefined; errorAt: number } {
  const { args, error, errorAt } = readArgs(command, argv, specs);
  return { args, error, errorAt: errorAt ?? args.sequence.length };
}

/**
 * Whether argv gives the flag `long` (by its long name, with a value or not, or its letter in a
 * cluster), read as parseArgs reads it but past what parseArgs refuses: a command line that is
 * refused (an unknown flag, anywhere) is reported in the form it asked for, --json's too.
 */
export function flagGiven(argv: readonly string[], specs: readonly FlagSpec[], long: string): boolean {
  return readArgs("", argv, specs).args.flags.has(long);
}

interface FlagIndex {
  readonly specs: readonly FlagSpec[];
  readonly byLong: ReadonlyMap<string, FlagSpec>;
  readonly byShort: ReadonlyMap<string, FlagSpec>;
}

/** The last list's index: a command reads its argv two or three times (flagGiven, then parseArgs) with one list. */
let lastIndex: FlagIndex | undefined;

/** specs by long name (and alias) and by letter. */
function flagIndex(specs: readonly FlagSpec[]): FlagIndex {
  if (lastIndex?.specs === specs) return lastIndex;
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byLong.set(spec.long, spec);
    for (const alias of spec.aliases ?? []) byLong.set(alias, spec);
    if (spec.short) byShort.set(spec.short, spec);
    for (const letter of spec.shortAliases ?? []) byShort.set(letter, spec);
  }
  return (lastIndex = { specs, byLong, byShort });
}

/**
 * parseArgs' reading of argv, to its end whatever it meets: every flag it can read, and the first
 * problem (an unknown flag is skipped; a flag that takes no value but is given one is kept, and
 * so is one that needs a value and ends argv, as "").
 */
function readArgs(command: string, argv: readonly string[], specs: readonly FlagSpec[]): { args: ParsedArgs; error: UsageError | undefined; errorAt: number | undefined } {
  const { byLong, byShort } = flagIndex(specs);
  const flags = new Map<string, string[]>();
  const operands: string[] = [];
  const sequence: [string, string][] = [];
  let error: UsageError | undefined;
  /** how many flags had been read when error was met */
  let errorAt: number | undefined;
  const record = (spec: FlagSpec, value: string) => {
    sequence.push([spec.long, value]);
    const list = flags.get(spec.long);
    if (list) list.push(value);
    else flags.set(spec.long, [value]);
  };
  const refuse = (problem: UsageError) => {
    if (error !== undefined) return;
    error = problem;
    errorAt = sequence.length;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const found = longFlag(byLong, name);
      if (found.problem !== undefined) {
        refuse(new UsageError(`${command}: ${found.problem}`, { hint: `see 'mountkit ${command} --help'` }));
        continue;
      }
      const spec = found.spec;
      const shown = byLong.has(name) ? name : spec.long; // an abbreviation is named in full, as getopt_long names it
      if (spec.optionalValue) {
        record(spec, eq >= 0 ? arg.slice(eq + 1) : "");
      } else if (spec.value) {
        if (eq >= 0) record(spec, arg.slice(eq + 1));
        else if (i + 1 < argv.length) record(spec, argv[++i]!);
        else {
          refuse(new UsageError(`${command}: option --${shown} needs a value`));
          record(spec, "");
        }
      } else {
        if (eq >= 0) refuse(new UsageError(`${command}: option --${shown} takes no value`));
        record(spec, "");
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) {
          refuse(new UsageError(`${command}: unknown option -${letter}`, { hint: `see 'mountkit ${command} --help'` }));
          continue;
        }
        if (spec.optionalValue) {
          record(spec, arg.slice(j + 1)); // the rest of the cluster, as getopt
          break;
        }
        if (spec.value) {
          if (j + 1 < arg.length) record(spec, arg.slice(j + 1));
          else if (i + 1 < argv.length) record(spec, argv[++i]!);
          else {
            refuse(new UsageError(`${command}: option -${letter} needs a value`));
            record(spec, "");
          }
          break;
        }
        record(spec, "");
      }
      continue;
    }
    operands.push(arg);
  }
  return { args: { flags, operands, sequence }, error, errorAt };
}

export function has(args: ParsedArgs, long: string): boolean {
  return args.flags.has(long);
}

export function values(args: ParsedArgs, long: string): readonly string[] {
  return args.flags.get(long) ?? [];
}

/** The last value given for a flag, or undefined. */
export function last(args: ParsedArgs, long: string): string | undefined {
  const list = args.flags.get(long);
  return list?.[list.length - 1];
}

/**
 * The last value of a flag naming a directory, refused as bad usage when it cannot be meant: an
 * empty one (the calls that resolve it take "" for the working directory: an empty --root
 * mounted there) and, for a helper dir (helpers run as root), one that is not absolute. Checked
 * as the command line is read, so it is said once, before anything is done.
 */
export function dirFlag(command: string, args: ParsedArgs, long: string, { absolute = false } = {}): string | undefined {
  const value = last(args, long);
  if (value === "") throw new UsageError(`${command}: --${long}: empty path`);
  if (absolute && value !== undefined && !value.startsWith("/")) throw new UsageError(`${command}: --${long} ${quotePath(value)} is not an absolute path`);
  return value;
}

/** Help text for a command: usage line, then one line per flag. */
export function formatHelp(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = [s.short ? `-${s.short}` : "", ...(s.shortAliases ?? []).map((l) => `-${l}`), `--${s.long}`, ...(s.aliases ?? []).map((a) => `--${a}`)]
      .filter(Boolean)
      .join(", ");
    const value = s.value ? ` ${s.value}` : s.optionalValue ? `[=${s.optionalValue}]` : "";
    return [`${names}${value}`, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join("\n")}\n`;
}

/**
 * -n, --no-mtab: accepted by mount and umount as mount(8)'s stand-ins; mountkit writes no
 * /etc/mtab. A mount.TYPE or umount.TYPE helper is given -n, as util-linux gives it.
 */
export const NO_MTAB_FLAG: FlagSpec = {
  long: "no-mtab",
  short: "n",
  help: "mountkit writes no /etc/mtab (the kernel's table is the only one); a mount.TYPE or umount.TYPE helper gets -n, as from mount(8)",
};

/** -N, --namespace NS: mount(8)'s and umount(8)'s, the mount namespace to work in. */
export const NAMESPACE_FLAG: FlagSpec = {
  long: "namespace",
  short: "N",
  value: "NS",
  help: "work in another mount namespace: a PID's, or a namespace file (/proc/PID/ns/mnt)",
};

/**
 * --json wherever it stands before `--`, in a command line not read with its command's flags yet
 * (an unknown command, loop without its subcommand): whether a refusal of it is JSON too.
 */
export function jsonAnywhere(argv: readonly string[]): boolean {
  return flagGiven(argv, [{ long: "json", help: "" }], "json");
}

/**
 * Operands as a message lists them, each as quotePath shows a path and quoted too where it holds
 * a space: an empty one shows as "", and where one ends shows ("a b" c).
 */
export function operandsText(operands: readonly string[]): string {
  return operands.map((o) => (/\s/.test(o) ? quoted(o) : quotePath(o))).join(" ");
}
