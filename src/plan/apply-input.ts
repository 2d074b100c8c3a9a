/**
 * What `apply` reads: a containerd mount list `[{type, source, target, options}]` or an OCI
 * runtime config.json (its `mounts` and `root.path`). Every entry is checked here, before any
 * mount is made; a bad one is a PlanError naming its entry number. Pure.
 */
import { PlanError, quotePath } from "../errors.ts";
import { optionalString as optionalText, requireOptionsObject } from "./caller-input.ts";
import { DEFAULT_TARGET_MODE, readOnlyAtTheEnd, withTargetCreated, type BatchEntry } from "./batch-entry.ts";
import { parseJsonText } from "./json-text.ts";
import { entryOptions } from "./options.ts";

export interface ApplyInput {
  readonly format: "containerd" | "oci";
  readonly entries: readonly BatchEntry[];
  /** OCI root.path as written (relative paths are relative to the bundle); undefined if absent */
  readonly root: string | undefined;
  /** OCI root.readonly: true asks for a read-only root, which apply does not make (ROOT_READONLY_NOT_APPLIED) */
  readonly rootReadonly: boolean;
}

/**
 * What apply says of an OCI root.readonly: it mounts the config's mounts in the root and never
 * the root itself, where runc binds the rootfs onto itself and remounts it read-only last.
 */
export const ROOT_READONLY_NOT_APPLIED =
  "the OCI config's root.readonly is not applied: the root stays as it is; to make it read-only as runc does, " +
  "`mountkit mount --bind ROOT ROOT` before and `mountkit mount -o remount,bind,ro ROOT` after (docs/apply.md)";

export interface ApplyInputOptions {
  /** create missing targets of a containerd list (OCI input always creates them, as runtimes do) */
  readonly mkdir?: boolean;
  /** the input's name in messages: a file name, or "stdin" */
  readonly name?: string;
  /** the command reading it, which messages start with: "apply" (default), "with-mounts" */
  readonly action?: string;
}

const CONTAINERD_FIELDS = new Set(["type", "source", "target", "options"]);
const OCI_MOUNT_FIELDS = new Set(["destination", "type", "source", "options", "uidMappings", "gidMappings"]);

/** Parse and check apply's input text. */
export function parseApplyInput(text: string, options: ApplyInputOptions = {}): ApplyInput {
  requireOptionsObject(options, "apply");
  optionalText(options.action, "action", "apply");
  optionalText(options.name, "name", "apply");
  // "apply list.json": what every message about the input starts with
  const subject = `${options.action ?? "apply"} ${quotePath(options.name ?? "input")}`;
  const doc = parseJsonText(text, subject);
  if (Array.isArray(doc)) {
    const create = options.mkdir ? { mode: DEFAULT_TARGET_MODE } : undefined;
    const entries = collect(subject, doc, (item, index) => containerdEntry(item, index, create));
    return { format: "containerd", entries, root: undefined, rootReadonly: false };
  }
  if (isObject(doc) && "mounts" in doc) return ociInput(subject, doc);
  throw new PlanError(
    `${subject}: expected a list of mounts [{"type","source","target","options"}] or an OCI config.json (an object with "mounts")`,
  );
}

/** Build every entry; report every bad one at once, each with its number. */
function collect(subject: string, items: readonly unknown[], build: (item: unknown, index: number) => BatchEntry): BatchEntry[] {
  const entries: BatchEntry[] = [];
  const problems: string[] = [];
  items.forEach((item, i) => {
    try {
      entries.push(build(item, i + 1));
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      problems.push(err.message);
    }
  });
  if (problems.length > 0) throw badEntries(subject, problems);
  return entries;
}

/** One PlanError for one or more bad entries: "apply x: entry 3: ..." or "...: 2 bad entries: ...". */
export function badEntries(action: string, problems: readonly string[]): PlanError {
  if (problems.length === 1) return new PlanError(`${action}: ${problems[0]}`, { hint: "nothing was mounted" });
  return new PlanError(`${action}: ${problems.length} bad entries: ${problems.join("; ")}`, { hint: "nothing was mounted" });
}

function containerdEntry(item: unknown, index: number, createTarget: BatchEntry["createTarget"]): BatchEntry {
  const where = `entry ${index}`;
  if (!isObject(item)) throw new PlanError(`${where}: expected an object {"type","source","target","options"}`);
  for (const key of Object.keys(item)) {
    if (!CONTAINERD_FIELDS.has(key)) throw new PlanError(`${where}: unknown field ${JSON.stringify(key)}`);
  }
  const type = requiredString(item, "type", where);
  const source = requiredString(item, "source", where);
  const target = optionalString(item, "target", where) ?? "";
  const options = stringList(item, "options", where);
  return withTargetCreated({ index, where, mount: { type, source, target, options }, createTarget: undefined, nofail: hasNofail(options) }, createTarget);
}

/** The entry says nofail (as an fstab line may): its failure is a warning, the rest still mounted. */
function hasNofail(options: readonly string[]): boolean {
  return options.some((o) => entryOptions(o).includes("nofail"));
}

function ociInput(subject: string, doc: Record<string, unknown>): ApplyInput {
  const mounts = doc.mounts;
  if (!Array.isArray(mounts)) throw new PlanError(`${subject}: "mounts" must be a list`);
  let root: string | undefined;
  let rootReadonly = false;
  if (doc.root !== undefined) {
    if (!isObject(doc.root) || typeof doc.root.path !== "string" || doc.root.path === "") {
      throw new PlanError(`${subject}: "root" must be an object with a non-empty "path"`);
    }
    if (doc.root.readonly !== undefined && typeof doc.root.readonly !== "boolean") {
      throw new PlanError(`${subject}: "root.readonly" must be true or false`);
    }
    root = doc.root.path;
    rootReadonly = doc.root.readonly === true;
  }
  const entries = collect(subject, mounts, ociEntry);
  return { format: "oci", entries, root, rootReadonly };
}

function ociEntry(item: unknown, index: number): BatchEntry {
  const where = `entry ${index}`;
  if (!isObject(item)) throw new PlanError(`${where}: expected an object {"destination","type","source","options"}`);
  for (const key of Object.keys(item)) {
    if (!OCI_MOUNT_FIELDS.has(key)) throw new PlanError(`${where}: unknown field ${JSON.stringify(key)}`);
  }
  const destination = requiredString(item, "destination", where);
  if (destination === "") throw new PlanError(`${where}: "destination" is empty`);
  // runtime-spec: a relative destination (deprecated, still written by old tools) is relative to "/"
  const target = destination.startsWith("/") ? destination : `/${destination}`;
  const type = optionalString(item, "type", where) ?? "";
  const source = optionalString(item, "source", where) ?? "";
  // Runtime-spec id mappings are containerd's uidmap=/gidmap= options ("container:host:size,...").
  const uidmap = idMappings(item, "uidMappings", where);
  const gidmap = idMappings(item, "gidMappings", where);
  if ((uidmap === undefined) !== (gidmap === undefined)) {
    const [given, missing] = uidmap === undefined ? ["gidMappings", "uidMappings"] : ["uidMappings", "gidMappings"];
    throw new PlanError(`${where}: "${given}" without "${missing}": the runtime spec requires both for an idmapped mount`);
  }
  const options = stringList(item, "options", where);
  checkIdmapWords(options, uidmap !== undefined, where);
  if (uidmap !== undefined) options.push(`uidmap=${uidmap}`);
  if (gidmap !== undefined) options.push(`gidmap=${gidmap}`);
  // runc's order: a read-only tmpfs or /dev is made read-only once every mount stands
  return readOnlyAtTheEnd(
    {
      index,
      where: `${where} (${destination})`,
      mount: { type, source, target, options },
      createTarget: { mode: DEFAULT_TARGET_MODE },
      nofail: hasNofail(options),
    },
    true,
  );
}

/**
 * runtime-spec 1.2's "idmap"/"ridmap" say the mount is idmapped, and for an rbind how: its top
 * mount alone or the whole tree. With the entry's own mappings they stay in the options for the
 * idmap planner. Without mappings they mean the container's user namespace, which a mount list
 * does not name: refused here, in the spec's terms (the options' parser refuses them too).
 */
function checkIdmapWords(options: readonly string[], mapped: boolean, where: string): void {
  if (mapped) return;
  const word = options.find((o) => o === "idmap" || o === "ridmap");
  if (word === undefined) return;
  throw new PlanError(`${where}: "${word}" without "uidMappings"/"gidMappings": the container's user namespace is not known here`, {
    hint: "give the mount its own uidMappings and gidMappings",
  });
}

/** [{containerID, hostID, size}] -> "0:1000:65536,..."; undefined when absent or empty. */
function idMappings(item: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = item[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new PlanError(`${where}: "${key}" must be a list of {containerID, hostID, size}`);
  if (value.length === 0) return undefined;
  return value
    .map((m, i) => {
      const fields = ["containerID", "hostID", "size"] as const;
      if (!isObject(m)) throw new PlanError(`${where}: ${key}[${i}] must be an object {containerID, hostID, size}`);
      const [c, h, s] = fields.map((f) => {
        const n = m[f];
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
          throw new PlanError(`${where}: ${key}[${i}].${f} must be an integer from 0 to 4294967295`);
        }
        return n;
      });
      if (s === 0) throw new PlanError(`${where}: ${key}[${i}].size must not be 0`);
      return `${c}:${h}:${s}`;
    })
    .join(",");
}

function requiredString(item: Record<string, unknown>, key: string, where: string): string {
  if (!(key in item)) throw new PlanError(`${where}: missing "${key}"`);
  const value = optionalString(item, key, where);
  return value ?? "";
}

function optionalString(item: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = item[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new PlanError(`${where}: "${key}" must be a string`);
  if (value.includes("\0")) throw new PlanError(`${where}: "${key}" contains a NUL byte`);
  return value;
}

function stringList(item: Record<string, unknown>, key: string, where: string): string[] {
  const value = item[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new PlanError(`${where}: "${key}" must be a list of strings`);
  }
  for (const v of value) if (v === "") throw new PlanError(`${where}: "${key}" holds an empty option`);
  return [...value];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
