/**
 * mountkit findmnt --verify [-F FSTAB]... [-t TYPES] [-v] [--json]: an fstab's problems, as
 * util-linux's findmnt --verify prints them. Exit 1 when there are errors (parse errors
 * included), 0 when there are warnings at most.
 */
import { ExitCode } from "../../errors.ts";
import { verifyFstabFile } from "../../ops/fstab-verify.ts";
import { countNotes, type VerifyLevel } from "../../plan/fstab-verify.ts";
import { typesMatch } from "../../mountinfo/findmnt-select.ts";
import { has, last, values, type ParsedArgs } from "../args.ts";
import { printResult, type Io } from "../output.ts";

const MARK: Readonly<Record<VerifyLevel, string>> = { error: "[E]", warning: "[W]", info: "[ ]" };

export function verifyCommand(args: ParsedArgs, io: Io, json: boolean): ExitCode {
  const paths = values(args, "tab-file");
  const types = last(args, "types");
  const helperDir = last(args, "helper-dir");
  const verdict = verifyFstabFile(paths.length === 0 ? undefined : paths, helperDir === undefined ? {} : { helperDir });
  const lines = types === undefined ? verdict.lines : verdict.lines.filter((v) => typesMatch(v.line.fstype, types));
  const errors = lines === verdict.lines ? verdict.errors : countNotes(lines, "error");
  const warnings = lines === verdict.lines ? verdict.warnings : countNotes(lines, "warning");
  const parseErrors = verdict.parseErrors;
  const code = errors + parseErrors.length > 0 ? ExitCode.usage : ExitCode.ok;
  if (json) {
    // a report: what is wrong is in its checks and counts, not one error
    printResult(io, code, {
      parseErrors,
      errors,
      warnings,
      filesystems: lines.map(({ line, notes }) => ({
        line: line.line,
        ...(line.file === undefined ? {} : { file: line.file }),
        target: line.target,
        source: line.source,
        fstype: line.fstype,
        checks: notes,
      })),
    });
    return code;
  }
  const verbose = has(args, "verbose");
  let text = "";
  for (const problem of parseErrors) text += `   [E] parse error: ${problem}\n`;
  for (const { line, notes } of lines) {
    const shown = verbose ? notes : notes.filter((n) => n.level !== "info");
    if (shown.length === 0 && !verbose) continue;
    text += `${line.fstype === "swap" ? line.source : line.target}\n`;
    for (const n of shown) text += `   ${MARK[n.level]} ${n.message}\n`;
  }
  if (errors + warnings + parseErrors.length === 0) text += `${text === "" ? "" : "\n"}Success, no errors or warnings detected\n`;
  else text += `\n${count(parseErrors.length, "parse error")}, ${count(errors, "error")}, ${count(warnings, "warning")}\n`;
  io.out(text);
  return code;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}
