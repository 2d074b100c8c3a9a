export type { MountInfo } from "./types.ts";
export { MountInfoParseError, decodeMountInfoField, parseMountInfo, parseMountInfoLine } from "./parse.ts";
export type { MountFilter } from "./lookup.ts";
export {
  allOf,
  anyOf,
  fstypeFilter,
  isPathUnder,
  lookupMount,
  mountsOfDevice,
  mountsUnder,
  parentsFilter,
  prefixFilter,
  propagationOf,
  singleEntryFilter,
} from "./lookup.ts";
export type { FindmntJson, FindmntRecord } from "./findmnt.ts";
export {
  displayWidth,
  findmntJson,
  findmntJsonText,
  findmntOptions,
  findmntRecord,
  findmntSource,
  findmntTable,
  safeEncode,
} from "./findmnt.ts";
export { readMountInfo, readMountInfoFile } from "./read.ts";
