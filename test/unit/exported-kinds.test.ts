// Every function src/index.ts exports, given a value of the wrong kind where an argument (or an
// item of one) belongs: a number, undefined, null, an object, a list with a non-string item, a
// string where a list belongs. Each is a PlanError (exit 1) naming the call's action, the argument
// and the value, made before any syscall (a call that takes a seam gets one that fails the test
// at its first call), never a TypeError from inside. The first test keeps the table whole: an export with no row
// (and no reason in NOT_CHECKED) fails it.
import { describe, expect, test } from "bun:test";
import * as lib from "../../src/index.ts";
import { caught } from "../support/caught.ts";

/** A seam that fails the test at its first call. */
const noSyscalls = new Proxy({} as lib.Syscalls, {
  get: (_, name) => () => {
    throw new Error(`syscall ${String(name)} made for bad input`);
  },
});
const facts = lib.factsForVersion("6.18.0");
const options = { sys: noSyscalls, facts };
const ok: lib.Mount = { type: "tmpfs", source: "tmpfs", options: ["size=1m"] };
const table = lib.parseMountInfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:5 / /mnt rw shared:1 - tmpfs t rw,size=1k\n");
const mnt = table[1]!;
const fstab = lib.parseFstab("tmpfs /tmp tmpfs nosuid 0 0\n");
const config = lib.parseOverlayOptions(["lowerdir=/a:/b", "upperdir=/u", "workdir=/w"]);
const step = lib.planMount(ok, "/mnt/x", facts).steps[0]!;
/** An fstab that names no file: a check that comes too late reads it and says so. */
const noFstab = "/nonexistent/mountkit-test-fstab";
/** A value of the wrong kind, typed as the argument it is passed as. */
const wrong = <T,>(v: unknown) => v as T;

type Case = readonly [what: string, call: () => unknown, message: string];

/** Rows for a string argument: a number, undefined, null, an object, a list. */
function notStrings(call: (v: never) => unknown, prefix: string): Case[] {
  return [
    ["a number", () => call(wrong(5)), `${prefix} must be a string, got 5`],
    ["undefined", () => call(wrong(undefined)), `${prefix} must be a string, got undefined`],
    ["null", () => call(wrong(null)), `${prefix} must be a string, got null`],
    ["an object", () => call(wrong({})), `${prefix} must be a string, got an object`],
    ["a list", () => call(wrong(["x"])), `${prefix} must be a string, got a list`],
  ];
}

/** Rows for a list of strings: a number, undefined, a string, an object, and a number in it. */
function notStringLists(call: (v: never) => unknown, prefix: string, field: string): Case[] {
  return [
    ["a number", () => call(wrong(5)), `${prefix}: ${field} must be a list of strings, got 5`],
    ["undefined", () => call(wrong(undefined)), `${prefix}: ${field} must be a list of strings, got undefined`],
    ["a string", () => call(wrong("a,b")), `${prefix}: ${field} must be a list of strings, got "a,b"`],
    ["an object", () => call(wrong({ 0: "a", length: 1 })), `${prefix}: ${field} must be a list of strings, got an object`],
    ["a number in it", () => call(wrong(["a", 5])), `${prefix}: ${field}[1] must be a string, got 5`],
  ];
}

/** Rows for a MountInfo list: none, or a row that is none. */
function notTables(call: (v: never) => unknown, action: string): Case[] {
  return [
    ["no list", () => call(wrong(undefined)), `${action}: expected a mount table (a list), got undefined`],
    ["a string", () => call(wrong("/mnt")), `${action}: expected a mount table (a list), got "/mnt"`],
    ["a null row", () => call(wrong([mnt, null])), `${action}: mounts[1] must be a MountInfo (an object as parseMountInfo makes), got null`],
    ["a string row", () => call(wrong(["/mnt"])), `${action}: mounts[0] must be a MountInfo (an object as parseMountInfo makes), got "/mnt"`],
    ["an empty object", () => call(wrong([{}])), `${action}: mounts[0] must be a MountInfo (an object as parseMountInfo makes), got an object`],
  ];
}

/** Rows for a MountInfo argument. */
function notMountInfos(call: (v: never) => unknown, action: string): Case[] {
  const message = (shown: string) => `${action}: mount must be a MountInfo (an object as parseMountInfo makes), got ${shown}`;
  return [
    ["undefined", () => call(wrong(undefined)), message("undefined")],
    ["null", () => call(wrong(null)), message("null")],
    ["a number", () => call(wrong(5)), message("5")],
    ["a list", () => call(wrong([mnt])), message("a list")],
  ];
}

/** An OCI config whose root.readonly apply warns about as it reads the input. */
const OCI_READONLY_ROOT = JSON.stringify({ ociVersion: "1.0.0", root: { path: "/nonexistent/mountkit-test-root", readonly: true }, mounts: [] });

const OPTIONS_NULL = (action: string) => `${action}: options must be an object, got null`;

const CASES: Record<string, readonly Case[]> = {
  // option helpers
  classifyOptions: [...notStringLists((v) => lib.classifyOptions(v), "parse options", "options")],
  splitOptionString: notStrings((v) => lib.splitOptionString(v), "parse options: option text"),
  entryOptions: notStrings((v) => lib.entryOptions(v), "parse options: entry"),
  tokenizeOptions: notStrings((v) => lib.tokenizeOptions(v), "parse options: option text"),
  tokenizeOptionArgs: [
    ["a string", () => lib.tokenizeOptionArgs(wrong("ro")), 'parse options: option texts must be a list of strings, got "ro"'],
    // named by its index, as classifyOptions names options[1]
    ["a number in it", () => lib.tokenizeOptionArgs(wrong([5])), "parse options: option texts[0] must be a string, got 5"],
    ["null in it", () => lib.tokenizeOptionArgs(wrong(["ro", null])), "parse options: option texts[1] must be a string, got null"],
  ],
  unquoteOption: notStrings((v) => lib.unquoteOption(v), "unquote option: option"),
  joinData: notStringLists((v) => lib.joinData(v), "join data", "items"),
  lookupOption: notStrings((v) => lib.lookupOption(v), "look up option: option"),
  // overlay options
  parseOverlayOptions: notStringLists((v) => lib.parseOverlayOptions(v), "parse overlay options", "data"),
  splitLowerdirValue: notStrings((v) => lib.splitLowerdirValue(v), "split lowerdir: value"),
  joinLowerdirValue: [
    ...notStringLists((v) => lib.joinLowerdirValue(v, []), "join lowerdir", "lowerdirs"),
    ...notStringLists((v) => lib.joinLowerdirValue(["/a"], v), "join lowerdir", "datadirs"),
  ],
  readonlyOverlayOptions: [["a string", () => lib.readonlyOverlayOptions(wrong("upperdir=/u")), 'read-only overlay options: options must be a list of strings, got "upperdir=/u"']],
  compactLayers: [
    ["undefined", () => lib.compactLayers(wrong(undefined)), "compact layers: config must be an OverlayConfig (parseOverlayOptions), got undefined"],
    ["no lowerdirs", () => lib.compactLayers(wrong({ ...config, lowerdirs: undefined })), "compact layers: config.lowerdirs must be a list of strings, got undefined"],
    ["a number layer", () => lib.compactLayers(wrong({ ...config, datadirs: [5] })), "compact layers: config.datadirs[0] must be a string, got 5"],
  ],
  longestCommonPrefix: notStringLists((v) => lib.longestCommonPrefix(v), "longest common prefix", "strings"),
  overlayStrategy: [["undefined", () => lib.overlayStrategy(wrong(undefined)), "overlay strategy: facts must be the kernel's facts (kernelFacts()), got undefined"]],
  idmapOverlayStrategy: [["null", () => lib.idmapOverlayStrategy(wrong(null)), "idmapped overlay strategy: facts must be the kernel's facts (kernelFacts()), got null"]],
  overlayLayerSources: [
    ["a list as config", () => lib.overlayLayerSources(wrong(["lowerdir=/a"]), facts), "overlay layer sources: config must be an OverlayConfig (parseOverlayOptions), got a list"],
    ["no facts", () => lib.overlayLayerSources(config, wrong(undefined)), "overlay layer sources: facts must be the kernel's facts (kernelFacts()), got undefined"],
  ],
  overlayFsContextStep: [
    ["no context", () => lib.overlayFsContextStep(wrong(undefined), config, wrong({ lower: [], data: [] })), "overlay fs context step: ctx must be a mount's context (an object), got undefined"],
  ],
  // plans and steps
  planMount: [
    ["a list as facts", () => lib.planMount(ok, "/mnt/x", wrong([facts])), "mount: facts must be the kernel's facts (kernelFacts()), got a list"],
    ["null env", () => lib.planMount(ok, "/mnt/x", facts, wrong(null)), "mount: env must be an object, got null"],
    ["a number callback", () => lib.planMount(ok, "/mnt/x", facts, wrong({ sourceKind: 5 })), "mount: env.sourceKind must be a function, got 5"],
  ],
  planOnly: [["a number target", () => lib.planOnly(ok, wrong(5), options), "mount: target must be a string, got 5"]],
  describeStep: [
    ["undefined", () => lib.describeStep(wrong(undefined)), "describe step: step must be a step of a plan (an object), got undefined"],
    ["no op", () => lib.describeStep(wrong({})), "describe step: step.op must be a step's op (\"mount\", \"umount2\", \"helper\", ...), got undefined"],
  ],
  formatStep: [
    ["a number", () => lib.formatStep(wrong(5)), "format step: step must be a step of a plan (an object), got 5"],
    ["an unknown op", () => lib.formatStep(wrong({ ...step, op: "mkfs" })), 'format step: step.op must be a step\'s op ("mount", "umount2", "helper", ...), got "mkfs"'],
  ],
  formatExec: [
    ...notStrings((v) => lib.formatExec(v, ["x"]), "format exec: path"),
    ...notStringLists((v) => lib.formatExec("/sbin/x", v), "format exec", "argv"),
  ],
  formatFlags: [
    ["a string", () => lib.formatFlags(wrong("4096")), 'format flags: flags must be a whole number from 0 (a mask of flags), got "4096"'],
    ["NaN", () => lib.formatFlags(NaN), "format flags: flags must be a whole number from 0 (a mask of flags), got NaN"],
    ["a list as table", () => lib.formatFlags(1, wrong([lib.MS])), "format flags: table must be an object of flags by name (MS, MNT), got a list"],
    ["a number prefix", () => lib.formatFlags(1, lib.MS, wrong(5)), "format flags: prefix must be a string, got 5"],
  ],
  statfsFlagsToMs: [["undefined", () => lib.statfsFlagsToMs(wrong(undefined)), "statfs flags: stFlags must be a whole number from 0 (a mask of flags), got undefined"]],
  lockedMountFlags: [["a string", () => lib.lockedMountFlags(wrong("1")), 'statfs flags: stFlags must be a whole number from 0 (a mask of flags), got "1"']],
  factsForVersion: [
    ["a number release", () => lib.factsForVersion(wrong(6.1)), "facts for version: release must be a string, got 6.1"],
    ["null extra", () => lib.factsForVersion("6.1.0", wrong(null)), "facts for version: extra must be an object, got null"],
    ["a string pageSize", () => lib.factsForVersion("6.1.0", wrong({ pageSize: "4096" })), 'facts for version: extra.pageSize must be a whole number of bytes from 4096, got "4096"'],
    ["an unknown strategy", () => lib.factsForVersion("6.1.0", wrong({ strategy: "new" })), 'facts for version: extra.strategy must be "fd" or "legacy", got "new"'],
  ],
  parseSize: [
    // a number's digits were read as its text: 5 bytes
    ["a number", () => lib.parseSize("offset", wrong(5)), "parse size (offset): text must be a string, got 5"],
    ["a number option", () => lib.parseSize(wrong(5), "1m"), "parse size: option must be a string, got 5"],
  ],
  fuseHelperFor: notStrings((v) => lib.fuseHelperFor(v), "FUSE helper: type"),
  readOnly: [["no options", () => lib.readOnly(wrong({ type: "overlay", source: "o" })), "read-only: options must be a list of strings, got undefined"]],
  readonlyMounts: [["a string", () => lib.readonlyMounts(wrong("tmpfs")), 'read-only mounts: expected a list of Mounts, got "tmpfs"']],
  removeVolatileOption: [["null", () => lib.removeVolatileOption(wrong(null)), "remove volatile option: expected a list of Mounts, got null"]],
  entriesFromMounts: [
    ["a string", () => lib.entriesFromMounts(wrong("tmpfs")), 'mount all: expected a list of Mounts, got "tmpfs"'],
    ["a number createTarget", () => lib.entriesFromMounts([ok], wrong(0o755)), "mount all: createTarget must be {mode} with a mode from 0 to 0o7777, got 493"],
    ["a number action", () => lib.entriesFromMounts([ok], undefined, wrong(5)), "mount all: action must be a string, got 5"],
  ],
  // idmap
  parseIdMappings: [
    ["a number text", () => lib.parseIdMappings("uidmap", wrong(0)), "uidmap: expected container:host:size mappings (a string), got 0"],
    ["a number option", () => lib.parseIdMappings(wrong(5), "0:1:1"), 'parse id mappings: option must be "uidmap" or "gidmap", got 5'],
  ],
  idMappingPair: [
    ["a number uidmap", () => lib.idMappingPair(wrong(5), "0:1:1", 4096, "mount"), "mount: uidmap: expected container:host:size mappings (a string), got 5"],
    ["a string pageSize", () => lib.idMappingPair("0:1:1", "0:1:1", wrong("4096"), "mount"), 'mount: pageSize must be a whole number of bytes from 1, got "4096"'],
    ["a number request", () => lib.idMappingPair("0:1:1", "0:1:1", 4096, wrong(5)), "id mapping pair: request must be an action (a string) or an object with one, got 5"],
  ],
  planIdmapMount: [["a string fd", () => lib.planIdmapMount("/s", "/t", wrong("3")), 'idmap mount: invalid user namespace fd "3" (a file descriptor is a whole number from 0 to 2147483647)']],
  // fstab
  parseFstab: [
    ...notStrings((v) => lib.parseFstab(v), "parse fstab: text"),
    ["a number name", () => lib.parseFstab("", wrong(5)), "parse fstab: name must be a string, got 5"],
  ],
  decodeFstabField: notStrings((v) => lib.decodeFstabField(v), "decode fstab field: field"),
  matchFstype: [
    ...notStrings((v) => lib.matchFstype(v, "ext4"), "match type: fstype"),
    ["a list pattern", () => lib.matchFstype("ext4", wrong(["ext4"])), "match type: pattern must be a string, got a list"],
  ],
  matchOptions: [
    ...notStringLists((v) => lib.matchOptions(v, "ro"), "match options", "options"),
    ["a number pattern", () => lib.matchOptions(["ro"], wrong(5)), "match options: pattern must be a string, got 5"],
  ],
  selectFstab: [
    ["a string", () => lib.selectFstab(wrong("tmpfs /tmp tmpfs")), 'select fstab lines: lines must be a list of fstab lines, got "tmpfs /tmp tmpfs"'],
    ["a line that is none", () => lib.selectFstab(wrong([...fstab, "x"])), 'select fstab lines: lines[1] must be an fstab line (an object as parseFstab makes), got "x"'],
    ["a number option", () => lib.selectFstab(wrong([{ ...fstab[0], options: [5] }])), "select fstab lines: lines[0].options[0] must be a string, got 5"],
    ["null filter", () => lib.selectFstab(fstab, wrong(null)), "select fstab lines: filter must be an object, got null"],
    ["a list as types", () => lib.selectFstab(fstab, wrong({ types: ["tmpfs"] })), "select fstab lines: filter.types must be a string, got a list"],
  ],
  findFstabLine: [
    ["no lines", () => lib.findFstabLine(wrong(undefined), "/tmp", (p) => p), "find fstab line: lines must be a list of fstab lines, got undefined"],
    ["a null line", () => lib.findFstabLine(wrong([null]), "/tmp", (p) => p), "find fstab line: lines[0] must be an fstab line (an object as parseFstab makes), got null"],
    ["a number operand", () => lib.findFstabLine(fstab, wrong(5), (p) => p), "find fstab line: operand must be a string, got 5"],
    ["no canonical", () => lib.findFstabLine(fstab, "/tmp", wrong(undefined)), "find fstab line: canonical must be a function, got undefined"],
    ["an unknown role", () => lib.findFstabLine(fstab, "/tmp", (p) => p, wrong("mountpoint")), 'find fstab line: by must be "either", "target" or "source", got "mountpoint"'],
  ],
  // mountinfo
  parseMountInfo: [["undefined", () => lib.parseMountInfo(wrong(undefined)), "parse mountinfo: expected the table's text, got undefined"]],
  parseMountInfoLenient: [
    ["a number", () => lib.parseMountInfoLenient(wrong(5)), "parse mountinfo: expected the table's text, got 5"],
    ["a list", () => lib.parseMountInfoLenient(wrong(["1 0 8:1 / / rw - ext4 /dev/sda1 rw"])), "parse mountinfo: expected the table's text, got a list"],
  ],
  parseMountInfoLine: [
    ["null", () => lib.parseMountInfoLine(wrong(null)), "parse mountinfo line: line must be a string, got null"],
    ["a string lineNumber", () => lib.parseMountInfoLine("1 0 8:1 / / rw - ext4 /dev/sda1 rw", wrong("1")), 'parse mountinfo line: lineNumber must be a whole number, got "1"'],
  ],
  decodeMountInfoField: [
    ["a number", () => lib.decodeMountInfoField(wrong(5)), "decode mountinfo field: field must be a string, got 5"],
    ["a list", () => lib.decodeMountInfoField(wrong(["a\\040b"])), "decode mountinfo field: field must be a string, got a list"],
  ],
  readMountInfo: [["a path", () => lib.readMountInfo(wrong("../1")), 'read mountinfo: pid must be a process id (a whole number from 1), "self" or "thread-self", got "../1"']],
  readMountInfoFile: notStrings((v) => lib.readMountInfoFile(v), "read mountinfo: path"),
  readMountInfoFileLenient: [["a number", () => lib.readMountInfoFileLenient(wrong(5)), "read mountinfo: path must be a string, got 5"]],
  lookupMount: [
    ...notTables((v) => lib.lookupMount(v, "/mnt"), "look up mount"),
    ["a number path", () => lib.lookupMount(table, wrong(5)), "look up mount: path must be a string, got 5"],
  ],
  mountsOfDevice: [
    ...notTables((v) => lib.mountsOfDevice(v, "0:5"), "mounts of device"),
    ["a number device", () => lib.mountsOfDevice(table, wrong(5)), "mounts of device: device must be a string, got 5"],
  ],
  mountsOfSource: [
    ...notTables((v) => lib.mountsOfSource(v, "t"), "mounts of source"),
    ["null source", () => lib.mountsOfSource(table, wrong(null)), "mounts of source: source must be a string, got null"],
  ],
  mountsUnder: [
    ...notTables((v) => lib.mountsUnder(v, "/"), "mounts under"),
    ["a number prefix", () => lib.mountsUnder(table, wrong(5)), "mounts under: prefix must be a string, got 5"],
  ],
  unmountOrder: [
    ...notTables((v) => lib.unmountOrder(v, "/"), "unmount order"),
    ["a list prefix", () => lib.unmountOrder(table, wrong(["/"])), "unmount order: prefix must be a string, got a list"],
  ],
  subtreeUnmountOrder: [
    ...notTables((v) => lib.subtreeUnmountOrder(v, mnt), "subtree unmount order"),
    ["no top", () => lib.subtreeUnmountOrder(table, wrong(undefined)), "subtree unmount order: top must be a MountInfo (an object as parseMountInfo makes), got undefined"],
  ],
  lookup: notStrings((v) => lib.lookup(v), "look up mount: path"),
  isMountPoint: [
    ...notStrings((v) => lib.isMountPoint(v, { sys: noSyscalls }), "is mount point: path"),
    ["a NUL in the path", () => lib.isMountPoint("/mnt\0x", { sys: noSyscalls }), 'is mount point: path "/mnt\\u0000x" contains a NUL byte'],
    ["null options", () => lib.isMountPoint("/mnt", wrong(null)), OPTIONS_NULL("is mount point")],
    ["a string follow", () => lib.isMountPoint("/mnt", wrong({ follow: "no", sys: noSyscalls })), 'is mount point: options.follow must be true or false, got "no"'],
    ["a seam without statxMountRoot", () => lib.isMountPoint("/mnt", wrong({ sys: {} })), "is mount point: sys must be a Syscalls object with statxMountRoot() (libcSyscalls), got an object"],
  ],
  canonicalizePath: [["a number", () => lib.canonicalizePath(wrong(5)), "canonicalize path: path must be a string, got 5"]],
  isPathUnder: [...notStrings((v) => lib.isPathUnder(v, "/"), "is path under: path"), ...notStrings((v) => lib.isPathUnder("/a", v), "is path under: prefix")],
  prefixFilter: [["a number", () => lib.prefixFilter(wrong(5)), "prefix filter: prefix must be a string, got 5"]],
  parentsFilter: [["null", () => lib.parentsFilter(wrong(null)), "parents filter: path must be a string, got null"]],
  singleEntryFilter: [["a list", () => lib.singleEntryFilter(wrong(["/"])), "single entry filter: mount point must be a string, got a list"]],
  fstypeFilter: [["a number", () => lib.fstypeFilter("tmpfs", wrong(5)), "fstype filter: types[1] must be a string, got 5"]],
  allOf: [["a string", () => lib.allOf(lib.prefixFilter("/"), wrong("/mnt")), 'all of: filters[1] must be a function, got "/mnt"']],
  anyOf: [["undefined", () => lib.anyOf(wrong(undefined)), "any of: filters[0] must be a function, got undefined"]],
  mountOptionItems: notMountInfos((v) => lib.mountOptionItems(v), "mount option items"),
  propagationOf: notMountInfos((v) => lib.propagationOf(v), "propagation"),
  findmntSource: notMountInfos((v) => lib.findmntSource(v), "findmnt source"),
  findmntOptions: notMountInfos((v) => lib.findmntOptions(v), "findmnt options"),
  findmntRecord: [...notMountInfos((v) => lib.findmntRecord(v), "findmnt record"), ["an empty object", () => lib.findmntRecord(wrong({})), "findmnt record: mount must be a MountInfo (an object as parseMountInfo makes), got an object"]],
  findmntJson: [
    ["undefined", () => lib.findmntJson(wrong(undefined)), "findmnt JSON: expected a list of mounts, got undefined"],
    ["an empty object row", () => lib.findmntJson(wrong([{}])), "findmnt JSON: mounts[0] must be a MountInfo (an object as parseMountInfo makes), got an object"],
  ],
  findmntJsonText: [
    ["a number row", () => lib.findmntJsonText(wrong([5])), "findmnt JSON: mounts[0] must be a MountInfo (an object as parseMountInfo makes), got 5"],
    ["null specs", () => lib.findmntJsonText(table, undefined, wrong(null)), "findmnt JSON: specs must be columns by name (FINDMNT_COLUMNS), got null"],
  ],
  findmntColumnsJson: [
    ["no columns", () => lib.findmntColumnsJson(table, wrong(undefined)), "findmnt JSON: columns must be a list of names, got undefined"],
    ["a number column", () => lib.findmntColumnsJson(table, wrong([5])), "findmnt JSON: unknown column 5; known: " + Object.keys(lib.FINDMNT_COLUMNS).join(", ")],
  ],
  findmntTable: [
    ["a row with no options", () => lib.findmntTable(wrong([{ ...mnt, options: undefined }])), "findmnt table: mounts[0] must be a MountInfo (an object as parseMountInfo makes), got an object"],
    ["null options", () => lib.findmntTable(table, undefined, wrong(null)), "findmnt table: options must be an object, got null"],
    ["a number tree prefix", () => lib.findmntTable(table, undefined, wrong({ treePrefixes: ["", 5] })), "findmnt table: treePrefixes[1] must be a string, got 5"],
  ],
  parseColumns: [
    ["a list", () => lib.parseColumns(wrong(["TARGET"])), "columns: expected a list of names (NAME,NAME), got a list"],
    ["a string as defaults", () => lib.parseColumns("+SOURCE", wrong("TARGET")), 'columns: defaults must be a list of strings, got "TARGET"'],
  ],
  safeEncode: [...notStrings((v) => lib.safeEncode(v), "safe encode: text"), ["a string asciiOnly", () => lib.safeEncode("x", wrong("yes")), 'safe encode: asciiOnly must be true or false, got "yes"']],
  displayWidth: notStrings((v) => lib.displayWidth(v), "display width: text"),
  // errors and errnos
  errnoName: [
    ["a string", () => lib.errnoName(wrong("16")), 'errno name: code must be an errno code (a whole number), got "16"'],
    ["NaN", () => lib.errnoName(NaN), "errno name: code must be an errno code (a whole number), got NaN"],
  ],
  errnoMessage: [["undefined", () => lib.errnoMessage(wrong(undefined)), "errno message: code must be an errno code (a whole number), got undefined"]],
  errnoCode: [["a number", () => lib.errnoCode(wrong(16)), 'errno code: name must be a string ("EBUSY"), got 16']],
  isErrno: [["a name", () => lib.isErrno(new Error("x"), wrong("EBUSY")), 'is errno: code must be an errno code (a whole number: Errno.EBUSY), got "EBUSY"']],
  injectFaults: [
    ["no seam", () => lib.injectFaults(wrong(undefined), {}), "inject faults: real must be a Syscalls object (libcSyscalls), got undefined"],
    ["null faults", () => lib.injectFaults(noSyscalls, wrong(null)), "inject faults: faults must be an object of faults by syscall, got null"],
    ["a fault that is none", () => lib.injectFaults(noSyscalls, wrong({ umount2: 16 })), "inject faults: faults.umount2 must be a fault {calls: \"always\" or [numbers], errno}, got 16"],
    ["a string errno", () => lib.injectFaults(noSyscalls, wrong({ umount2: [{ calls: [1], errno: 16 }, { calls: [2], errno: "EBUSY" }] })), 'inject faults: faults.umount2[1] must be a fault {calls: "always" or [numbers], errno}, got an object'],
  ],
  // retries
  retrySync: [["no fn", () => lib.retrySync(lib.UNMOUNT_BUSY, wrong(undefined)), "retry: fn must be a function, got undefined"]],
  withPolicy: [["null change", () => lib.withPolicy(lib.UNMOUNT_BUSY, wrong(null)), "retry policy: the change must be an object, got null"]],
  // paths inside a root
  rootPath: [
    ["a number path", () => lib.rootPath("/r", wrong(5), () => null), "resolve: path must be a string, got 5"],
    ["no readlink", () => lib.rootPath("/r", "a", wrong(undefined)), "resolve a: readlink must be a function, got undefined"],
    ["a readlink answering a number", () => lib.rootPath("/r", "a", wrong(() => 1)), "resolve a: readlink must return a link's target (a string) or null, got 1"],
  ],
  resolveInRoot: [
    ["a number target", () => lib.resolveInRoot("/r", wrong(5), noSyscalls), "resolve: path must be a string, got 5"],
    ["a seam without readlink", () => lib.resolveInRoot("/r", "x", wrong({})), "resolve: sys must be a Syscalls object with readlink() (libcSyscalls), got an object"],
  ],
  targetInPrefix: [["a number seam", () => lib.targetInPrefix("/", "x", wrong(5)), "resolve: sys must be a Syscalls object with readlink() (libcSyscalls), got 5"]],
  placeInPrefix: [["null seam", () => lib.placeInPrefix("/", "x", wrong(null)), "resolve: sys must be a Syscalls object with readlink() (libcSyscalls), got null"]],
  canonicalRoot: [
    ["a number root", () => lib.canonicalRoot(wrong(5)), "root must be a path, got 5"],
    ["a number what", () => lib.canonicalRoot("/", wrong(5)), "canonical root: what must be a string, got 5"],
  ],
  joinUnderRoot: [["undefined root", () => lib.joinUnderRoot(wrong(undefined), "x"), "join under root: root must be a string, got undefined"]],
  probeOverlay: [["a number seam", () => lib.probeOverlay(wrong(5)), "probe overlay: sys must be a Syscalls object with fsopen() (libcSyscalls), got 5"]],
  // mounts, unmounts and their options
  mount: [
    ["a number target", () => lib.mount(ok, wrong(5), options), "mount: target must be a string, got 5"],
    // a list's fields were not read: the real seam, where options held a test's
    ["a list as options", () => lib.mount(ok, "/nonexistent/mountkit-test-target", wrong([options])), "mount: options must be an object, got a list"],
    ["a number seam", () => lib.mount(ok, "/mnt/x", wrong({ facts, sys: 5 })), "options: sys must be a Syscalls object (libcSyscalls), got 5"],
    ["a number batch", () => lib.mount(ok, "/mnt/x", wrong({ ...options, batch: 5 })), "options: batch must be a batch's shared state, got 5"],
    ["a number targetRoot", () => lib.mount(ok, "/mnt/x", wrong({ ...options, targetRoot: 5 })), "options: targetRoot must be a string, got 5"],
    // the only field given: the shared context is used, and the root was a TypeError at the mount point's pinning
    ["a number targetRoot alone", () => lib.mount(ok, "/nonexistent/mountkit-test-target", wrong({ targetRoot: 5 })), "options: targetRoot must be a string, got 5"],
    // read when a helper runs, after the first syscalls: refused before them
    ["an unknown helperStdio", () => lib.mount(ok, "/mnt/x", wrong({ ...options, helperStdio: "pipe" })), 'options: helperStdio must be "capture", "capture-each", "inherit" or "stdout-to-stderr", got "pipe"'],
  ],
  mountMakingTarget: [["null facts", () => lib.mountMakingTarget(ok, "/mnt/x", wrong({ sys: noSyscalls, facts: null })), "options: facts must be the kernel's facts (kernelFacts()), got null"]],
  unmount: [
    ["a number target", () => lib.unmount(wrong(5), options), "unmount: target must be a string, got 5"],
    ["a number fake", () => lib.unmount("/x", wrong({ ...options, fakeUnmounts: 5 })), "options: fakeUnmounts must be a FakeUnmounts (new FakeUnmounts(table)), got 5"],
  ],
  unmountAll: [["undefined", () => lib.unmountAll(wrong(undefined), options), "unmount: target must be a string, got undefined"]],
  unmountRecursive: [["null", () => lib.unmountRecursive(wrong(null), options), "unmount: target must be a string, got null"]],
  unmountSubtree: [["a number", () => lib.unmountSubtree(wrong(5), options), "unmount: target must be a string, got 5"]],
  subtreeUnmounter: [["null options", () => lib.subtreeUnmounter(wrong(null)), "unmount: options must be an object, got null"]],
  umountOperand: [
    ["a number", () => lib.umountOperand(wrong(5), options), "unmount: target must be a string, got 5"],
    // its table is read from the fake before any other option
    ["a string fake", () => lib.umountOperand("/x", wrong({ ...options, fakeUnmounts: "fake" })), 'options: fakeUnmounts must be a FakeUnmounts (new FakeUnmounts(table)), got "fake"'],
  ],
  unmountDevice: [["a number", () => lib.unmountDevice(wrong(5), options), "unmount: target must be a string, got 5"]],
  unmountAllTargets: [["a number", () => lib.unmountAllTargets(wrong(5), options), "unmount: target must be a string, got 5"]],
  unmountOrRemountReadOnly: [["undefined", () => lib.unmountOrRemountReadOnly(wrong(undefined), options), "unmount: target must be a string, got undefined"]],
  unmountMounts: [["a string", () => lib.unmountMounts(wrong("tmpfs"), "/r", options), 'unmount mounts: expected a list of Mounts, got "tmpfs"']],
  unmountMountTable: [
    ["a number types", () => lib.unmountMountTable(wrong({ ...options, types: 5 })), "umount -a: types must be a string, got 5"],
    ["a list testOptions", () => lib.unmountMountTable(wrong({ ...options, testOptions: ["ro"] })), "umount -a: testOptions must be a string, got a list"],
    ["a number fake", () => lib.unmountMountTable(wrong({ ...options, fakeUnmounts: 5 })), "options: fakeUnmounts must be a FakeUnmounts (new FakeUnmounts(table)), got 5"],
  ],
  mountAll: [
    ["a string", () => lib.mountAll(wrong("tmpfs"), "/r", options), 'mount all: expected a list of Mounts, got "tmpfs"'],
    // called once an entry stands: it was a TypeError there
    ["a number onEntry", () => lib.mountAll([ok], "/r", wrong({ ...options, onEntry: 5 })), "options: onEntry must be a function, got 5"],
  ],
  runBatch: [
    ["null options", () => lib.runBatch([], "/r", wrong(null)), OPTIONS_NULL("mount batch")],
    ["a string", () => lib.runBatch(wrong("tmpfs"), "/r", options), 'mount batch: expected a list of batch entries (entriesFromMounts), got "tmpfs"'],
    ["a Mount as an entry", () => lib.runBatch(wrong([ok]), "/r", options), "mount batch: entries[0].where must be a string, got undefined"],
    ["an entry without a target", () => lib.runBatch(wrong([{ index: 1, where: "entry 1", mount: ok }]), "/r", options), "mount batch: entries[0].mount.target must be a string, got undefined"],
    ["a number createTarget", () => lib.runBatch(wrong([{ ...lib.entriesFromMounts([ok])[0], createTarget: 0o755 }]), "/r", options), "mount batch: entries[0].createTarget must be {mode} with a mode from 0 to 0o7777, got 493"],
  ],
  applyText: [["a list as options", () => lib.applyText("[]", wrong([options])), "apply: options must be an object, got a list"]],
  planApply: [
    ["a number", () => lib.planApply(wrong(5), options), "apply: expected the input's text (a JSON mount list or OCI config), got 5"],
    // called as the input is read (an OCI root.readonly): it was a TypeError there
    ["a number warn", () => lib.planApply(OCI_READONLY_ROOT, wrong({ ...options, warn: 5 })), "options: warn must be a function, got 5"],
  ],
  parseApplyInput: [
    ["null options", () => lib.parseApplyInput("[]", wrong(null)), OPTIONS_NULL("apply")],
    ["a number name", () => lib.parseApplyInput("[]", wrong({ name: 5 })), "apply: name must be a string, got 5"],
  ],
  mountFstab: [
    ["a number types", () => lib.mountFstab(wrong({ ...options, file: noFstab, types: 5 })), "mount -a: types must be a string, got 5"],
    ["null options", () => lib.mountFstab(wrong(null)), "mount -a: options must be an object, got null"],
    ["a number in the files", () => lib.mountFstab(wrong({ ...options, file: [noFstab, 5] })), "mount -a: file[1] must be a string, got 5"],
    ["an unknown optionsMode", () => lib.mountFstab(wrong({ ...options, file: noFstab, optionsMode: "merge" })), 'mount -a: optionsMode must be one of prepend, append, replace, ignore, got "merge"'],
  ],
  unmountFstab: [["a list testOptions", () => lib.unmountFstab(wrong({ ...options, file: noFstab, testOptions: ["ro"] })), "umount -a: testOptions must be a string, got a list"]],
  fstabRequest: [
    ["a number operand", () => lib.fstabRequest(wrong(5), options), "mount: expected a mount point or source, or {source, target}, got 5"],
    ["a number type", () => lib.fstabRequest("/tmp", wrong({ ...options, file: noFstab, type: 5 })), "mount: type must be a string, got 5"],
  ],
  planFromFstab: [["a string options", () => lib.planFromFstab("/tmp", wrong({ ...options, file: noFstab, options: "ro" })), 'mount: options must be a list of strings, got "ro"']],
  mountFromFstab: [["a number targetPrefix", () => lib.mountFromFstab("/tmp", wrong({ ...options, file: noFstab, targetPrefix: 5 })), "mount: targetPrefix must be a string, got 5"]],
  // loop devices
  attachLoop: [["undefined", () => lib.attachLoop(wrong(undefined), options), "attach to a loop device: file must be a string, got undefined"]],
  detachLoop: [["a number", () => lib.detachLoop(wrong(7), options), "detach: device must be a string, got 7"]],
  setLoopCapacity: [["a number", () => lib.setLoopCapacity(wrong(7), options), "set the capacity: device must be a string, got 7"]],
  listLoopDevices: [["a number file", () => lib.listLoopDevices(wrong(5)), "list loop devices: file must be a string, got 5"]],
  // idmapped mounts
  idmapMount: [["a number source", () => lib.idmapMount(wrong(5), "/t", 3, {}, options), "idmap mount: source must be a string, got 5"]],
  openIdmappedTree: [
    ["a number path", () => lib.openIdmappedTree(wrong(5), 3, {}, options), "open idmapped tree: path must be a string, got 5"],
    ["null how", () => lib.openIdmappedTree("/p", 3, wrong(null), options), "open idmapped tree: how must be an object ({readOnly, recursive}), got null"],
  ],
  usernsFd: [["a number uidmap", () => lib.usernsFd(wrong(5), "0:1:1", options), "user namespace: uidmap: expected container:host:size mappings (a string), got 5"]],
  closeUsernsFds: [["a number", () => lib.closeUsernsFds(wrong(5)), "options must be an object, got 5"]],
  cleanupIdmapTemp: [
    ["a number dir", () => lib.cleanupIdmapTemp(wrong(5), options), "clean up idmap temp: dir must be a string, got 5"],
    ["undefined", () => lib.cleanupIdmapTemp(wrong(undefined), options), "clean up idmap temp: dir must be a string, got undefined"],
  ],
  // namespaces, helpers, processes, temp dirs
  enterMountNamespace: [["undefined", () => lib.enterMountNamespace(wrong(undefined), options), "enter a mount namespace: namespace must be a string, got undefined"]],
  runningInUserNamespace: [
    ["a number", () => lib.runningInUserNamespace(wrong(0)), "running in a user namespace: uidMap must be a string, got 0"],
    ["a list", () => lib.runningInUserNamespace(wrong(["0 0 4294967295"])), "running in a user namespace: uidMap must be a string, got a list"],
  ],
  helperSearchDirs: [
    ["undefined", () => lib.helperSearchDirs(wrong(undefined)), "helper search dirs: ctx must be an object with helperDir, got undefined"],
    ["a number dir", () => lib.helperSearchDirs(wrong({ helperDir: 5 })), "helper search dirs: helperDir must be a string, got 5"],
  ],
  locateHelper: [
    ["a number name", () => lib.locateHelper(wrong(5), ["/nonexistent"]), "locate helper: name must be a string, got 5"],
    ["a string as dirs", () => lib.locateHelper("mount.x", wrong("/sbin")), 'locate helper: dirs must be a list of strings, got "/sbin"'],
    ["a number dir", () => lib.locateHelper("mount.x", wrong(["/nonexistent", 5])), "locate helper: dirs[1] must be a string, got 5"],
  ],
  runProcess: [
    ["a number path", () => lib.runProcess(wrong(5), ["x"], []), "run a process: path must be a string, got 5"],
    ["a string as argv", () => lib.runProcess("/bin/true", wrong("true"), []), 'run /bin/true: argv must be a list of strings, got "true"'],
    // anything else was read as "capture", and the process run
    ["an unknown stdio", () => lib.runProcess("/nonexistent/mountkit-test", ["x"], [], wrong("pipe")), 'run /nonexistent/mountkit-test: stdio must be "capture", "capture-each", "inherit" or "stdout-to-stderr", got "pipe"'],
  ],
  makeTempDir: [
    ["an object", () => lib.makeTempDir(wrong({})), "make a temp dir: kind must be a string, got an object"],
    ["a list", () => lib.makeTempDir(wrong([])), "make a temp dir: kind must be a string, got a list"],
  ],
  setTempMountLocation: [["a number", () => lib.setTempMountLocation(wrong(5)), "temp mount location: dir must be a string, got 5"]],
  cleanupTempMounts: [["a number location", () => lib.cleanupTempMounts(wrong({ ...options, location: 5 })), "clean up temp mounts: location must be a string, got 5"]],
  withDirThread: [["undefined", () => lib.withDirThread(wrong(undefined)), "dir thread: fn must be a function, got undefined"]],
};

// the async calls: a rejected promise with the PlanError, before fn runs or anything is mounted
const ASYNC_CASES: Record<string, readonly Case[]> = {
  withTempMount: [
    ["no fn", () => lib.withTempMount([ok], wrong(undefined), options), "temp mount: fn must be a function, got undefined"],
    ["a string onBatchWarning", () => lib.withTempMount([ok], () => 1, wrong({ ...options, onBatchWarning: "warn" })), 'options: onBatchWarning must be a function, got "warn"'],
  ],
  withReadonlyTempMount: [["a string", () => lib.withReadonlyTempMount(wrong("tmpfs"), () => 1, options), 'temp mount: expected a list of Mounts, got "tmpfs"']],
  withMountsFromText: [
    ["no fn", () => lib.withMountsFromText("[]", options, wrong(5)), "with-mounts: fn must be a function, got 5"],
    // called once the mounts stand (with their warnings): it was a TypeError there
    ["a number onBatchWarning", () => lib.withMountsFromText("[]", wrong({ ...options, root: "/", onBatchWarning: 5 }), () => 1), "options: onBatchWarning must be a function, got 5"],
  ],
  withBatch: [
    ["no batch", () => lib.withBatch(wrong({}), () => 1), "with batch: batch must be a mounted batch (an object with release()), got an object"],
    ["no fn", () => lib.withBatch(wrong({ release() {} }), wrong("fn")), 'with batch: fn must be a function, got "fn"'],
  ],
  retryAsync: [["a number fn", () => lib.retryAsync(lib.UNMOUNT_BUSY, wrong(5)), "retry: fn must be a function, got 5"]],
};

/** Exports that take no argument a caller can get wrong, or take any value by design. */
const NOT_CHECKED: Record<string, string> = {
  exitCodeFor: "takes whatever was thrown (unknown): anything else maps to exit 2",
  helperExitStatus: "takes whatever was thrown (unknown): undefined for anything but a HelperError",
  kernelFacts: "takes no argument",
  resetKernelFacts: "takes no argument",
  defaultFstab: "takes no argument",
  tempMountLocation: "takes no argument",
  // classes: the errors are made by mountkit and exported for instanceof and their fields
  BatchError: "an error class: mountkit makes it; exported for instanceof and its fields",
  HelperError: "an error class: mountkit makes it; exported for instanceof and its fields",
  MountFailedError: "an error class: mountkit makes it; exported for instanceof and its fields",
  MountInfoParseError: "an error class: mountkit makes it; exported for instanceof and its fields",
  MountkitError: "an error class: mountkit makes it; exported for instanceof and its fields",
  NotSupportedError: "an error class: mountkit makes it; exported for instanceof and its fields",
  PlanError: "an error class: mountkit makes it; exported for instanceof and its fields",
  SyscallError: "an error class: mountkit makes it; exported for instanceof and its fields",
  RunStopped: "an error class: mountkit makes it; exported for instanceof and its fields",
  FakeUnmounts: "a class whose table is checked where it is passed (options.fakeUnmounts)",
  SubtreeUnmounter: "a class; subtreeUnmounter(options) checks the options it is made with",
};

function expectRefused(err: unknown, message: string): void {
  expect(err).toBeInstanceOf(lib.PlanError);
  expect((err as lib.PlanError).kind).toBe("plan");
  expect(lib.exitCodeFor(err)).toBe(1);
  expect((err as lib.PlanError).message).toBe(message);
}

describe("every exported function, given a value of the wrong kind", () => {
  test("has rows here (or a reason not to)", () => {
    const functions = Object.entries(lib).filter(([, value]) => typeof value === "function").map(([name]) => name);
    expect(functions.length).toBeGreaterThan(140);
    const rowless = functions.filter((name) => !((CASES[name]?.length ?? 0) + (ASYNC_CASES[name]?.length ?? 0) > 0 || name in NOT_CHECKED));
    expect(rowless).toEqual([]);
  });

  const rows = Object.entries(CASES).flatMap(([name, cases]) => cases.map(([what, call, message]) => [name, what, call, message] as const));
  test.each(rows)("%s: %s", (_, __, call, message) => {
    expectRefused(caught(call), message);
  });

  const asyncRows = Object.entries(ASYNC_CASES).flatMap(([name, cases]) => cases.map(([what, call, message]) => [name, what, call, message] as const));
  test.each(asyncRows)("%s: %s", async (_, __, call, message) => {
    let err: unknown;
    await (call() as Promise<unknown>).catch((e: unknown) => (err = e));
    expectRefused(err, message);
  });
});
