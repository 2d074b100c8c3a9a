/**
 * Reading fstab files as libmount reads them: -T's files and directories, $LIBMOUNT_FSTAB, else
 * /etc/fstab (a missing default has no lines). Apart from ops/fstab.ts, which mounts the lines,
 * so that a remount, which only looks its mount point's line up, loads no batch code.
 */
import { join } from "../path.ts";
import { Errno } from "../errno.ts";
import { isErrno, PlanError, quotePath, SyscallError } from "../errors.ts";
import { DEFAULT_FSTAB, defaultFstabPath, parseFstab, parseFstabLines, type FstabLine } from "../plan/fstab.ts";
import { compareVersions } from "../plan/version-sort.ts";
import { readTextFile } from "../sys/file.ts";
import { fileType } from "../sys/stat.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { absolutePath } from "../sys/cwd.ts";
import { environmentValue } from "../sys/command-line.ts";

/**
 * The fstab to read (mount -T, repeatable): a file, or a directory whose `*.fstab` files are
 * read in version order; several are read one after the other. By default (undefined, or no
 * paths) defaultFstab(): $LIBMOUNT_FSTAB, else /etc/fstab.
 */
export type FstabPaths = string | readonly string[];

/**
 * The fstab read when none is named: $LIBMOUNT_FSTAB when set (even to "", which names no file,
 * as in util-linux; ignored in a setuid or setgid process), else /etc/fstab (defaultFstabPath).
 * Every default fstab path comes from here. Read at each use, not cached: a library caller's
 * change to process.env counts, as a libmount caller's setenv does.
 */
export function defaultFstab(): string {
  return defaultFstabPath(environmentValue("LIBMOUNT_FSTAB"), runsWithSetIds());
}

/** Real and effective ids differ: a setuid or setgid program (libmount's safe_getenv test). */
function runsWithSetIds(): boolean {
  return process.getuid!() !== process.geteuid!() || process.getgid!() !== process.getegid!();
}

/** No path named (no -T): the default fstab is read, where a missing one has no lines. */
function namesNone(paths: FstabPaths | undefined): paths is undefined | readonly [] {
  return paths === undefined || (typeof paths !== "string" && paths.length === 0);
}

/** The paths to read: those named, else the default fstab. */
function pathsToRead(paths: FstabPaths | undefined): readonly string[] {
  return namesNone(paths) ? [defaultFstab()] : typeof paths === "string" ? [paths] : paths;
}

/**
 * Said with an error about the default fstab when LIBMOUNT_FSTAB made it another file than
 * /etc/fstab: a variable exported long ago is easy to forget, and `LIBMOUNT_FSTAB=` names no file.
 */
export function environmentNote(paths: FstabPaths | undefined): string | undefined {
  return namesNone(paths) && defaultFstab() !== DEFAULT_FSTAB ? "LIBMOUNT_FSTAB names this fstab (unset it to read /etc/fstab)" : undefined;
}

/**
 * Read and parse an fstab, or several one after the other, each a file or a directory (as
 * libmount reads `-T DIR`: its regular files named `*.fstab`, not hidden, in strverscmp order).
 * Lines carry their file when they come from more than one, or from a directory. A PlanError
 * names the file, and each bad line.
 */
export function readFstab(paths?: FstabPaths): FstabLine[] {
  return fstabTexts(paths).flatMap(({ file, text, named }) => {
    const lines = parseFstab(text, file);
    return named ? lines.map((l) => ({ ...l, file })) : lines;
  });
}

/**
 * The lines of file, or of the default fstab when none is given: a missing default fstab is no
 * lines, as libmount's mount -a, umount -a and `mount X` read it (a host built without one is
 * common: an initramfs, a container image; a $LIBMOUNT_FSTAB that names no file is read so
 * too), where a file asked for by name must exist.
 */
export function readFstabOrDefault(file: FstabPaths | undefined): FstabLine[] {
  if (!namesNone(file)) return readFstab(file);
  try {
    return readFstab();
  } catch (err) {
    if (isMissingDefault(file, err)) return [];
    throw err;
  }
}

/**
 * The default fstab (none named) is not there: ENOENT, none or a dangling link; ENOTDIR, no /etc
 * directory. Anything else (EACCES) stays an error.
 */
function isMissingDefault(file: FstabPaths | undefined, err: unknown): boolean {
  if (!namesNone(file)) return false;
  const cause = err instanceof PlanError ? err.cause : undefined;
  return isErrno(cause, Errno.ENOENT) || isErrno(cause, Errno.ENOTDIR);
}

/**
 * The lines of the fstab as readFstabOrDefault reads them, but a line that breaks its syntax is
 * skipped and said in problems ("FILE: line 3: ..."), as libmount's parser skips it with a
 * warning: a remount reads the fstab only to find its mount point's line, and `mount -o
 * remount,rw /` must not fail on another line. A file that cannot be read is still a PlanError.
 */
export function readFstabSkippingBadLines(file: FstabPaths | undefined): { lines: FstabLine[]; problems: string[] } {
  let texts: { file: string; text: string; named: boolean }[];
  try {
    texts = fstabTexts(file);
  } catch (err) {
    // a missing default fstab has no lines (readFstabOrDefault)
    if (isMissingDefault(file, err)) return { lines: [], problems: [] };
    throw err;
  }
  const { lines, problems } = parseFstabsLenient(texts);
  // a problem names its file even when the lines need not
  return { lines, problems: texts.length === 1 && !texts[0]!.named ? problems.map((p) => `${quotePath(texts[0]!.file)}: ${p}`) : problems };
}

/**
 * readFstab, but a bad line is one problem among the others ("FILE: line 3: ...", the file
 * named as readFstab names lines), not a refusal of the whole file: findmnt --verify. A file
 * that cannot be read is still a PlanError.
 */
export function readFstabLenient(paths?: FstabPaths): { lines: FstabLine[]; problems: string[] } {
  return parseFstabsLenient(fstabTexts(paths));
}

/**
 * readFstabLenient of files read already, each as a plain file (findmnt -F FILE..., whose first
 * file was read to tell what it holds: a pipe has nothing left for a second read). Lines and
 * problems carry their file when there are several.
 */
export function parseFstabTextsLenient(texts: readonly { file: string; text: string }[]): { lines: FstabLine[]; problems: string[] } {
  return parseFstabsLenient(texts.map((t) => ({ ...t, named: texts.length !== 1 })));
}

function parseFstabsLenient(texts: readonly { file: string; text: string; named: boolean }[]): { lines: FstabLine[]; problems: string[] } {
  const lines: FstabLine[] = [];
  const problems: string[] = [];
  for (const { file, text, named } of texts) {
    const parsed = parseFstabLines(text);
    lines.push(...(named ? parsed.lines.map((l) => ({ ...l, file })) : parsed.lines));
    problems.push(...(named ? parsed.problems.map((p) => `${file}: ${p}`) : parsed.problems));
  }
  return { lines, problems };
}

/** The text of each file the paths name, in order; named: its lines carry the file. */
function fstabTexts(paths: FstabPaths | undefined): { file: string; text: string; named: boolean }[] {
  const given = pathsToRead(paths);
  try {
    const files = given.flatMap(filesOfFstabPath);
    const named = files.length !== 1 || files[0] !== given[0];
    return files.map((file) => ({ file, text: readFstabText(file), named }));
  } catch (err) {
    if (err instanceof PlanError) err.hint ??= environmentNote(paths);
    throw err;
  }
}

/** How messages name the fstab: its path (the default one's when none is given), or the paths given, joined. */
export function fstabName(paths: FstabPaths | undefined): string {
  return pathsToRead(paths).map(quotePath).join(", ");
}

function readFstabText(file: string): string {
  try {
    return readTextFile(file);
  } catch (err) {
    // bad input (exit 1), named as a syscall error is: "read /etc/fstab: open(2): ENOENT (No such file or directory)"
    const cause = err instanceof SyscallError ? err.callFailure : String(err);
    throw new PlanError(`read ${quotePath(file)}: ${cause}`, { cause: err });
  }
}

/** A path given to -T: itself, or a directory's `*.fstab` files in version order. */
function filesOfFstabPath(path: string): string[] {
  if (fileType(path) !== "dir") return [path]; // read, or its error named, as a file
  let names: string[];
  try {
    // node:fs only here: loading it costs every mount -a about 1 ms (docs/bench.md)
    names = (require("../sys/dir-names.ts") as typeof import("../sys/dir-names.ts")).readDirNames(path);
  } catch (err) {
    throw new PlanError(`read ${quotePath(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return names
    .filter((name) => !name.startsWith(".") && name.length > FSTAB_SUFFIX.length && name.endsWith(FSTAB_SUFFIX))
    .sort(compareVersions)
    .map((name) => join(path, name))
    .filter((file) => fileType(file) === "file");
}

const FSTAB_SUFFIX = ".fstab";

/** A path as libmount compares fstab paths: canonical when it exists, else made absolute. */
export function realOrAbsolutePath(path: string): string {
  return existingRealpath(path) ?? absolutePath(path);
}
