/**
 * mountkit findmnt's flags, a link named findmnt's (util-linux findmnt's alone), and the
 * combinations refused as util-linux findmnt refuses them.
 */
import { ALL_COLUMNS } from "../../mountinfo/findmnt.ts";
import { UsageError, type FlagSpec, type ParsedArgs } from "../args.ts";
import type { FindmntDialect } from "./findmnt-layout.ts";

export const FINDMNT_FLAGS: readonly FlagSpec[] = [
  { long: "json", short: "J", help: "JSON with findmnt's field names" },
  { long: "mountinfo", value: "FILE", help: "read a saved mountinfo table instead of this process's (a bad line is warned about and skipped)" },
  { long: "task", short: "N", value: "TID", help: "the mount table of that task's namespace (/proc/TID/mountinfo), as findmnt -N" },
  { long: "types", short: "t", value: "TYPES", help: "only these filesystem types (comma-separated; a leading no: all but these)" },
  { long: "output", short: "o", value: "COLUMNS", help: `columns to print (${ALL_COLUMNS.join(",")}); +COLUMNS adds to the default ones` },
  { long: "output-all", help: "every column findmnt has (but --poll's), in its order; -o +COLUMNS adds more" },
  { long: "noheadings", short: "n", help: "leave out the header line" },
  { long: "raw", short: "r", help: "raw output: one space between cells, blanks escaped (\\x20)" },
  { long: "list", short: "l", help: "a list, not a tree (mountkit prints a tree only for -R or --tree)" },
  { long: "pairs", short: "P", help: "NAME=\"value\" pairs, one line per mount (characters a shell would expand as \\xHH)" },
  { long: "shell", short: "y", help: "column names usable as shell variables (MAJ:MIN as MAJ_MIN, USE% as USE_PCT): -P names, headers and -J keys" },
  { long: "submounts", short: "R", help: "each mount found and every mount below it, as a tree (TARGET drawn as one; with -l, -r, -P a list)" },
  { long: "tree", help: "draw findmnt's tree of the mounts chosen (each below the nearest chosen one above it), -l, -r, -P, -D and -J too; an fstab stays a list" },
  { long: "ascii", short: "a", help: "draw a tree (-R, --tree) with ASCII characters (|-, `-)" },
  { long: "options", short: "O", value: "LIST", help: "only mounts whose options match LIST (mount -O syntax: noX for X absent)" },
  { long: "uniq", short: "U", help: "leave out over-mounted mounts (a later mount has the same target)" },
  { long: "shadowed", help: "only over-mounted mounts (another mount made on the same mount point)" },
  { long: "invert", short: "i", help: "the mounts the filters turn down (-t, -O, -S, -M, -T, PATH, -D, --real, --pseudo, --shadowed), as findmnt -i" },
  { long: "df", short: "D", help: "as df(1): columns SOURCE,FSTYPE,SIZE,USED,AVAIL,USE%,TARGET; pseudo filesystems left out (tmpfs kept)" },
  { long: "all", short: "A", help: "with -D: pseudo filesystems too" },
  { long: "bytes", short: "b", help: "SIZE, USED and AVAIL in bytes (numbers in JSON), not as 1.5G" },
  { long: "real", help: "only real filesystems (not proc, sysfs, tmpfs, overlay, ...)" },
  { long: "pseudo", help: "only pseudo filesystems (proc, sysfs, tmpfs, overlay, ...)" },
  { long: "nofsroot", short: "v", help: "SOURCE without the [/dir] of a bind mount's or subvolume's root" },
  { long: "canonicalize", short: "c", help: "SOURCE paths printed canonical (symlinks resolved)" },
  { long: "nocanonicalize", short: "C", help: "compare paths and sources as given: no symlink resolved, no tag looked up (-M DIR: the mount point as written)" },
  { long: "vfs-all", help: "VFS-OPTIONS names every per-mount flag, the defaults too (rw,exec,suid,dev,async,...)" },
  { long: "kernel", short: "k", help: "accepted: mountkit always reads the kernel's table" },
  { long: "mtab", short: "m", help: "accepted: the kernel's table is mountkit's only one" },
  { long: "notruncate", short: "u", help: "accepted: mountkit never truncates a cell" },
  { long: "mountpoint", short: "M", value: "PATH", help: "the mounts on exactly this mount point (stacked ones too); exit 1 when none" },
  { long: "source", short: "S", value: "SPEC", help: "the mounts of this source (a device, MAJ:MIN, UUID=, LABEL=, or a name such as tmpfs); exit 1 when none" },
  { long: "target", short: "T", value: "PATH", help: "the mount holding PATH, as a PATH operand" },
  { long: "first-only", short: "f", help: "print the first mount found only" },
  { long: "direction", short: "d", value: "WORD", help: "the order mounts are found and listed in: forward (the table's, the default) or backward" },
  { long: "fstab", short: "s", help: "the fstab's lines instead of the mounts (SOURCE as written: UUID=...); the fstab: -F, else $LIBMOUNT_FSTAB, else /etc/fstab" },
  { long: "evaluate", short: "e", help: "with --fstab: a LABEL=/UUID=/PART... source as the device it names (empty when none does)" },
  { long: "verify", short: "x", help: "check the fstab instead: targets, sources, types, options, order (errors exit 1)" },
  {
    long: "tab-file",
    short: "F",
    value: "FILE",
    help: "read FILE instead (repeat for more): an fstab (a directory: its *.fstab files, with -s or -x) or, when its first line starts with two numbers, a mountinfo table",
  },
  { long: "verbose", help: "with --verify: every line, with what was found right" },
  { long: "helper-dir", value: "DIR", help: "with --verify: look mount.TYPE helpers up only in DIR" },
  { long: "poll", short: "p", optionalValue: "LIST", help: "refused: mountkit does not watch the mount table (util-linux findmnt --poll does)" },
  { long: "timeout", short: "w", value: "MS", help: "accepted, as findmnt without --poll: nothing to wait for" },
  { long: "version", short: "V", help: "print mountkit's version" },
  { long: "help", short: "h", help: "show this help" },
];

/** mountkit findmnt's flags that util-linux findmnt lacks: a link named findmnt has none of them. */
const MOUNTKIT_ONLY = new Set(["mountinfo", "helper-dir"]);

/** What a link named findmnt says of a flag where mountkit findmnt's words do not hold there. */
const FINDMNT8_HELP: Readonly<Record<string, string>> = {
  list: "a list, not the tree findmnt draws by default",
  tree: "draw the tree where the mounts were listed (a search, -f, -l, -r, -P, -D), -J too; an fstab stays a list",
  ascii: "draw the tree with ASCII characters (|-, `-)",
};

/**
 * The flags of a link named findmnt: util-linux findmnt's only, so that a long flag's beginning
 * means what it means to findmnt (--mo is --mountpoint, --he --help: mountkit's --mountinfo and
 * --helper-dir would make them ambiguous), each said as it works there.
 */
export const FINDMNT8_FLAGS: readonly FlagSpec[] = FINDMNT_FLAGS.filter((f) => !MOUNTKIT_ONLY.has(f.long)).map((f) => (FINDMNT8_HELP[f.long] === undefined ? f : { ...f, help: FINDMNT8_HELP[f.long]! }));

/** The flags a findmnt invocation takes: mountkit findmnt's, or findmnt(8)'s through a link. */
export function findmntFlags(dialect: FindmntDialect): readonly FlagSpec[] {
  return dialect === "findmnt(8)" ? FINDMNT8_FLAGS : FINDMNT_FLAGS;
}

// util-linux 2.38 findmnt's groups of flags that may not be given together, in its order (each
// named in the order its message lists them), then mountkit's own for the flags findmnt lacks.
const EXCLUSIVE: readonly (readonly string[])[] = [
  ["nocanonicalize", "canonicalize"],
  ["nocanonicalize", "evaluate"],
  ["json", "pairs", "raw", "verify"],
  ["mountpoint", "target"],
  ["task", "kernel", "mtab", "fstab"],
  ["pairs", "list", "raw", "verify"],
  ["poll", "verify"],
  ["mtab", "poll", "fstab"],
  ["pseudo", "real"],
  ["task", "fstab", "mountinfo"],
  ["task", "mountinfo", "tab-file"],
];

// --verify --json is mountkit findmnt's (its checks as an object), where findmnt (and the link) refuses the pair.
const MOUNTKIT_ALLOWED = new Set(["json verify", "verify json"]);

/**
 * Refuse flags of one group given together, as util-linux's err_exclusive_options does: the
 * flags in command-line order, each against every group holding it; the first flag of a group
 * seen stands, and another flag of that group (the same one again is fine) is refused with the
 * whole group named ("findmnt: mutually exclusive arguments: --json --pairs --raw --verify").
 */
export function refuseExclusiveFlags(args: ParsedArgs, dialect: FindmntDialect): void {
  const allowed = dialect === "mountkit" ? MOUNTKIT_ALLOWED : new Set<string>();
  const first: (string | undefined)[] = EXCLUSIVE.map(() => undefined);
  for (const [flag] of args.sequence) {
    EXCLUSIVE.forEach((group, g) => {
      if (!group.includes(flag)) return;
      const seen = first[g];
      if (seen === undefined) first[g] = flag;
      else if (seen !== flag && !allowed.has(`${seen} ${flag}`)) throw new UsageError(`findmnt: mutually exclusive arguments: ${group.map((f) => `--${f}`).join(" ")}`);
    });
  }
}
