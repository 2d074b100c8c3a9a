export type { MountInfo } from "./types.ts";
export type { LenientMountInfo } from "./parse.ts";
export { MountInfoParseError, decodeMountInfoField, parseMountInfo, parseMountInfoLenient, parseMountInfoLine } from "./parse.ts";
export type { MountFilter } from "./lookup.ts";
export {
  allOf,
  anyOf,
  fstypeFilter,
  isPathUnder,
  lookupMount,
  mountsOfDevice,
  mountsOfSource,
  mountsUnder,
  mountOptionItems,
  parentsFilter,
  prefixFilter,
  propagationOf,
  singleEntryFilter,
} from "./lookup.ts";
export type { FindmntJson, FindmntRecord, TableOptions } from "./findmnt.ts";
export {
  DEFAULT_COLUMNS,
  displayWidth,
  FINDMNT_COLUMNS,
  findmntColumnsJson,
  findmntJson,
  findmntJsonText,
  findmntOptions,
  findmntRecord,
  findmntSource,
  findmntTable,
  parseColumns,
  safeEncode,
} from "./findmnt.ts";
export { readMountInfo, readMountInfoFile, readMountInfoFileLenient } from "./read.ts";
