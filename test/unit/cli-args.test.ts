// The CLI's small getopt (src/cli/args.ts): what mount(8)'s and umount(8)'s users type.
import { describe, expect, test } from "bun:test";
import { flagGiven, formatHelp, jsonAnywhere, parseArgs, UsageError, type FlagSpec } from "../../src/cli/args.ts";
import { caught } from "../support/caught.ts";

const SPECS: readonly FlagSpec[] = [
  { long: "types", short: "t", value: "TYPE", help: "type" },
  { long: "read-only", short: "r", help: "ro" },
  { long: "verbose", short: "v", help: "verbose" },
  { long: "dry-run", short: "n", help: "dry run", aliases: ["fake"] },
  { long: "mkdir", short: "m", optionalValue: "MODE", help: "mkdir" },
];
const parse = (...argv: string[]) => {
  const { flags, operands } = parseArgs("mount", argv, SPECS);
  return { flags: Object.fromEntries(flags), operands };
};

describe("parseArgs", () => {
  test("short flags clustered, a value attached or next; long flags with = or next; aliases; -- ends the flags", () => {
    expect(parse("-rv", "-ttmpfs", "a", "b")).toEqual({ flags: { "read-only": [""], verbose: [""], types: ["tmpfs"] }, operands: ["a", "b"] });
    expect(parse("-rt", "tmpfs", "--types=ext4", "--types", "xfs")).toEqual({ flags: { "read-only": [""], types: ["tmpfs", "ext4", "xfs"] }, operands: [] });
    expect(parse("--fake", "--", "-r", "x")).toEqual({ flags: { "dry-run": [""] }, operands: ["-r", "x"] });
    expect(parse("-", "x").operands).toEqual(["-", "x"]);
  });

  test("an optional value, as getopt's optional_argument: only attached (-m0700, --mkdir=0700), never the next argument", () => {
    expect(parse("-m", "a", "b")).toEqual({ flags: { mkdir: [""] }, operands: ["a", "b"] });
    expect(parse("-m0700", "a", "b")).toEqual({ flags: { mkdir: ["0700"] }, operands: ["a", "b"] });
    expect(parse("-rm0700", "a")).toEqual({ flags: { "read-only": [""], mkdir: ["0700"] }, operands: ["a"] });
    expect(parse("--mkdir", "0700", "a")).toEqual({ flags: { mkdir: [""] }, operands: ["0700", "a"] });
    expect(parse("--mkdir=0700", "a")).toEqual({ flags: { mkdir: ["0700"] }, operands: ["a"] });
    // the rest of a cluster is the value, as getopt reads -mv
    expect(parse("-mv")).toEqual({ flags: { mkdir: ["v"] }, operands: [] });
  });

  test("a long flag's beginning, as getopt_long reads it: the one flag it begins (an alias's too); an exact name wins", () => {
    expect(parse("--verb", "--ty=tmpfs", "--ty", "ext4", "--fa", "--mk=0700")).toEqual({
      flags: { verbose: [""], types: ["tmpfs", "ext4"], "dry-run": [""], mkdir: ["0700"] },
      operands: [],
    });
    const exact = parseArgs("mount", ["--mo"], [...SPECS, { long: "mo", help: "mo" }, { long: "move", help: "move" }]);
    expect([...exact.flags.keys()]).toEqual(["mo"]);
    // two names of one flag are one flag
    expect(parseArgs("mount", ["--dr"], [{ long: "dry-run", help: "", aliases: ["dry"] }]).flags.has("dry-run")).toBe(true);
    // a beginning two flags share: ambiguous, both named
    const err = caught(() => parseArgs("mount", ["--m"], [...SPECS, { long: "move", help: "move" }]));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe("mount: option --m is ambiguous; possibilities: --mkdir --move");
  });

  test("bad usage: unknown flags, a missing value, a value given to a flag that takes none", () => {
    for (const [argv, message] of [
      [["-x"], "mount: unknown option -x"],
      [["--nope"], "mount: unknown option --nope"],
      [["-t"], "mount: option -t needs a value"],
      [["--types"], "mount: option --types needs a value"],
      [["--verbose=1"], "mount: option --verbose takes no value"],
      // an abbreviation is named in full
      [["--verb=1"], "mount: option --verbose takes no value"],
      [["--ty"], "mount: option --types needs a value"],
      [["--=x"], "mount: unknown option --"],
    ] as const) {
      const err = caught(() => parse(...argv));
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toBe(message);
    }
  });

  test("the first problem is the one reported, whatever follows it", () => {
    expect((caught(() => parse("--nope", "-x", "--types")) as UsageError).message).toBe("mount: unknown option --nope");
    expect((caught(() => parse("-rx", "--verbose=1")) as UsageError).message).toBe("mount: unknown option -x");
  });

  test("flagGiven: read as parseArgs reads it, past what it refuses (for --json's form of a refusal)", () => {
    const specs: FlagSpec[] = [...SPECS, { long: "json", short: "J", help: "json" }];
    const given = (...argv: string[]) => flagGiven(argv, specs, "json");
    expect([given("--json"), given("-rJ"), given("-Jt", "x"), given("--bogus", "--json"), given("-xJ"), given("--json=1"), given("a", "--json", "b")]).toEqual([true, true, true, true, true, true, true]);
    // a value, not the flag: -t's, after --, inside a cluster's value
    expect([given("-t", "--json"), given("--types", "-J"), given("--", "--json"), given("-tJ"), given("-m--json"), given()]).toEqual([false, false, false, false, false, false]);
    expect([jsonAnywhere(["--json", "mount"]), jsonAnywhere(["frob", "--", "--json"]), jsonAnywhere(["-J"])]).toEqual([true, false, false]);
  });

  test("more letters for one flag (losetup's -e and -E): each read as the flag, shown in --help beside its letter", () => {
    const specs: FlagSpec[] = [{ long: "encryption", short: "e", shortAliases: ["E"], value: "TYPE", help: "enc" }, { long: "read-only", short: "r", help: "ro" }];
    const read = (...argv: string[]) => Object.fromEntries(parseArgs("loop attach", argv, specs).flags);
    expect(read("-e", "aes", "-rEtwofish", "--encryption=3")).toEqual({ encryption: ["aes", "twofish", "3"], "read-only": [""] });
    expect(formatHelp("loop attach ...", "Attach.", specs)).toContain("-e, -E, --encryption TYPE");
  });

  test("flagGiven sees a flag that needs a value and ends the command line (parseArgs refuses it)", () => {
    expect([flagGiven(["x", "-t"], SPECS, "types"), flagGiven(["--types"], SPECS, "types"), flagGiven(["x"], SPECS, "types")]).toEqual([true, true, false]);
    expect((caught(() => parse("x", "-t")) as UsageError).message).toBe("mount: option -t needs a value");
  });

  test("--help shows a value as ' VALUE' and an optional one as '[=VALUE]'", () => {
    const help = formatHelp("mount ...", "Mount.", SPECS);
    expect(help).toContain("-t, --types TYPE");
    expect(help).toContain("-m, --mkdir[=MODE]");
    expect(help).toContain("-n, --dry-run, --fake");
  });
});
