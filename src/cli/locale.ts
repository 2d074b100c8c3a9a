/**
 * Whether text output may hold UTF-8, decided as util-linux's setlocale(LC_CTYPE, "") decides
 * it: findmnt's tables escape every byte past ASCII, and draw trees in ASCII, outside a UTF-8
 * locale, which is what an init script without LANG runs in.
 */
import { fileType } from "../sys/stat.ts";

const LOCALE_DIR = "/usr/lib/locale";

/**
 * The locale is the first of LC_ALL, LC_CTYPE and LANG that is set and not empty; it is UTF-8
 * when its codeset says so (C.UTF-8, en_US.utf8) and glibc has it: C.UTF-8 is built in, others
 * are in the locale archive or a directory of their own (one not installed falls back to C).
 * None, C and POSIX are ASCII.
 */
export function utf8Locale(env: Readonly<Record<string, string | undefined>> = process.env, installed: (name: string) => boolean = localeInstalled): boolean {
  const name = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  const match = /^([^.@]*)\.([^@]*)(@.*)?$/.exec(name);
  if (!match) return false;
  const [, language, codeset, modifier = ""] = match;
  if (codeset!.toLowerCase().replace(/[^a-z0-9]/g, "") !== "utf8") return false;
  return language === "C" || installed(name) || installed(`${language}.utf8${modifier}`);
}

/** glibc has the locale: its own directory, or (unread) the archive that holds the rest. */
function localeInstalled(name: string): boolean {
  if (name.includes("/")) return false;
  return fileType(`${LOCALE_DIR}/${name}`) === "dir" || fileType(`${LOCALE_DIR}/locale-archive`) === "file";
}
