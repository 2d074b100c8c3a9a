/**
 * findmnt --verify against this system: the pure checks of plan/fstab-verify.ts, with the
 * facts read here (paths, tags, the kernel's filesystem types and modules, superblocks, and
 * mountkit's own planning of each line).
 */
import { readdirSync } from "node:fs";
import { release } from "node:os";
import { join } from "../path.ts";
import { MountkitError, PlanError } from "../errors.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { deviceTagOf } from "../plan/device-tag.ts";
import { verifyFstab, type FstabVerdict, type VerifyFacts, type VerifyPathType } from "../plan/fstab-verify.ts";
import { helperNamesFor } from "../plan/external-helper.ts";
import { identifySuperblock } from "../plan/superblock.ts";
import { O } from "../sys/fd.ts";
import { readTextFile } from "../sys/file.ts";
import { statPath } from "../sys/stat.ts";
import { deviceOfTag } from "./block-devices.ts";
import { opsContext, type OpsOptions } from "./context.ts";
import { kernelRefusal } from "./fs-params.ts";
import { readFstabLenient, type FstabPaths } from "./fstab-read.ts";
import { helperSearchDirs, locateHelper } from "./helpers.ts";
import { planOn } from "./mount.ts";
import { readDeviceStart } from "./probe.ts";

/** Read the fstab (bad lines as parse errors, not a refusal) and check every line. */
export function verifyFstabFile(paths: FstabPaths | undefined, options: OpsOptions = {}): FstabVerdict {
  const { lines, problems } = readFstabLenient(paths);
  return verifyFstab(lines, problems, systemFacts(options));
}

/**
 * The facts, each read once per verification: a tag or a device named on several lines (a
 * tag may mean a scan of every partition's superblock) is looked up once.
 */
export function systemFacts(options: OpsOptions): VerifyFacts {
  const ctx = opsContext(options);
  const dirs = helperSearchDirs(ctx);
  let kernelTypes: Set<string> | undefined;
  const facts: VerifyFacts = {
    pathType(path) {
      const type = statPath(path)?.type;
      return type === undefined ? undefined : type === "dir" || type === "file" || type === "block" ? (type as VerifyPathType) : "other";
    },
    taggedDevice(source) {
      const tag = deviceTagOf(source);
      return tag === undefined ? undefined : deviceOfTag(tag);
    },
    knownType(type) {
      kernelTypes ??= filesystemTypesOfKernel();
      return kernelTypes.has(type) || helperNamesFor(type, "mount").some((name) => locateHelper(name, dirs) !== undefined);
    },
    probedType(device) {
      let fd: number;
      try {
        fd = ctx.sys.open(device, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
      } catch {
        return undefined;
      }
      try {
        const found = identifySuperblock(readDeviceStart(fd, device, ctx.sys));
        return found?.kind === "filesystem" ? found.type : undefined;
      } catch {
        return undefined;
      } finally {
        ctx.sys.close(fd);
      }
    },
    planProblem(entry: BatchEntry) {
      let plan;
      try {
        plan = planOn(entry.mount, entry.mount.target, options);
      } catch (err) {
        // only what the options make mountkit refuse; a missing path is a check of its own
        if (err instanceof PlanError) return err.message;
        if (err instanceof MountkitError) return undefined;
        throw err;
      }
      // a new filesystem's options, asked of the kernel without mounting (fsopen + fsconfig)
      return kernelRefusal(entry, plan, ctx);
    },
  };
  return { ...facts, taggedDevice: once(facts.taggedDevice), probedType: once(facts.probedType) };
}

/** f with each argument's answer kept. */
function once(f: (key: string) => string | undefined): (key: string) => string | undefined {
  const answers = new Map<string, string | undefined>();
  return (key) => {
    if (!answers.has(key)) answers.set(key, f(key));
    return answers.get(key);
  };
}

/**
 * The types this kernel mounts: /proc/filesystems (built in, or modules loaded), and the
 * filesystem modules it could load (/lib/modules/RELEASE/kernel/fs), as util-linux's findmnt
 * reads them, with the names those modules register under another name.
 */
export function filesystemTypesOfKernel(modulesDir = join("/lib/modules", release(), "kernel/fs")): Set<string> {
  const types = new Set<string>();
  try {
    for (const line of readTextFile("/proc/filesystems").split("\n")) {
      const type = line.split("\t")[1]?.trim();
      if (type) types.add(type);
    }
  } catch {
    // no /proc: the modules alone
  }
  for (const module of moduleNames(modulesDir)) {
    types.add(module);
    for (const alias of MODULE_TYPES[module] ?? []) types.add(alias);
  }
  return types;
}

/** Modules that register filesystem types under other names. */
const MODULE_TYPES: Readonly<Record<string, readonly string[]>> = {
  ext4: ["ext2", "ext3"],
  isofs: ["iso9660"],
  nfs: ["nfs4"],
  fat: ["msdos"],
  smb: ["cifs", "smb3"],
  cifs: ["smb3"],
};

/** Names of the *.ko, *.ko.xz, *.ko.zst, *.ko.gz files under dir, at any depth. */
function moduleNames(dir: string): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    if (e.isDirectory()) return moduleNames(join(dir, e.name));
    const match = /^(.+)\.ko(\.(xz|zst|gz))?$/.exec(e.name);
    return match ? [match[1]!] : [];
  });
}
