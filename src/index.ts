/**
 * mountkit's library API. Everything here is safe to import without root; only calls that
 * reach the kernel need it.
 */
import { optionTable, type OptionSpec } from "./plan/option-table.ts";
export { VERSION } from "./version.ts";
export {
  BatchError,
  ExitCode,
  HelperError,
  MountFailedError,
  MountkitError,
  NotSupportedError,
  PlanError,
  SyscallError,
  exitCodeFor,
  helperExitStatus,
  isErrno,
} from "./errors.ts";
export { Errno } from "./errno.ts";
export { errnoCode, errnoMessage, errnoName } from "./errno-lookup.ts";

// plan: pure
export { MS, MNT, ST, formatFlags, lockedMountFlags, statfsFlagsToMs } from "./plan/flags.ts";
export { lookupOption, type OptionSpec } from "./plan/option-table.ts";
/** The mount option table (the CLI builds it on first use: optionTable()). */
export const OPTION_TABLE: readonly OptionSpec[] = optionTable();
export { classifyOptions, entryOptions, joinData, splitOptionString, tokenizeOptions, tokenizeOptionArgs, unquoteOption, type ClassifiedOptions } from "./plan/options.ts";
export { factsForVersion, type KernelFacts, type Strategy } from "./plan/facts.ts";
export type { Mount } from "./plan/mount-request.ts";
export { planMount, PLANNERS, type Planner } from "./plan/mount-plan.ts";
export { describeStep, formatStep, type Plan, type Step, type MountStep } from "./plan/steps.ts";
export { subtreeUnmountOrder, unmountOrder } from "./plan/unmount-plan.ts";
export { readOnly, readonlyMounts, readonlyOverlayOptions, removeVolatileOption } from "./plan/mount-helpers.ts";
export { overlayStrategy, overlayLayerSources, overlayFsContextStep, type OverlayLayerSources } from "./plan/overlay.ts";
export { parseOverlayOptions, splitLowerdirValue, joinLowerdirValue, type OverlayConfig } from "./plan/overlay-options.ts";
export { compactLayers, longestCommonPrefix, type Compaction } from "./plan/overlay-compaction.ts";
export type { FsContextStep, FsParam, LayerSource } from "./plan/fs-context-step.ts";
export type { MountInDirStep } from "./plan/mount-in-dir-step.ts";
export type { LoopMountStep, LoopSetup } from "./plan/loop-step.ts";
export type { ErofsFileMountStep } from "./plan/erofs-file-step.ts";
export { parseSize } from "./plan/size.ts";

// mountinfo
export * from "./mountinfo/index.ts";

// operations
export { mount, mountMakingTarget, planOnly } from "./ops/mount.ts";
export {
  unmount,
  unmountAll,
  unmountDevice,
  unmountRecursive,
  unmountSubtree,
  subtreeUnmounter,
  SubtreeUnmounter,
  unmountMounts,
  joinUnderRoot,
  type UnmountOptions,
} from "./ops/unmount.ts";
export { umountOperand, type UmountOperandOptions } from "./ops/umount-operand.ts";
export { FakeUnmounts } from "./ops/umount-fake.ts";
export { unmountAllTargets, type AllTargetsOptions, type AllTargetsOutcome } from "./ops/umount-all-targets.ts";
export { unmountOrRemountReadOnly, type UnmountOrReadOnly } from "./ops/unmount-readonly.ts";
export { unmountMountTable, UMOUNT_ALL_DEFAULT_TYPES, type TableUnmountOptions, type TableUnmountResult } from "./ops/unmount-table.ts";
export { UNMOUNT_BUSY, retrySync, retryAsync, withPolicy, type RetryPolicy } from "./ops/retry.ts";
export { kernelFacts, resetKernelFacts, runningInUserNamespace } from "./ops/features.ts";
export { attachLoop, detachLoop, setLoopCapacity, type AttachLoopOptions, type LoopAttachment, type LoopCapacity } from "./ops/loop.ts";
export { LOOP_ATTACH_BUSY, LOOP_STATUS_AGAIN } from "./ops/loop-retry.ts";
export { listLoopDevices, type ListLoopOptions, type LoopDevice } from "./ops/loop-list.ts";
export { enterMountNamespace } from "./ops/enter-namespace.ts";
export { canonicalizePath, lookup } from "./ops/lookup.ts";
export { isMountPoint, type MountPointOptions } from "./ops/mount-point.ts";
export { probeOverlay, type OverlayProbe } from "./ops/overlay-probe.ts";
export type { OpsOptions } from "./ops/context.ts";
export { RunStopped, type StopRequests } from "./ops/stop.ts";

// the syscall seam
export { libcSyscalls, type Syscalls } from "./sys/seam.ts";
export { injectFaults, type Fault, type FaultPlan, type InjectedSyscalls } from "./sys/inject.ts";

// FUSE mounts through helpers (docs/fuse.md)
export {
  FUSE_MOUNT_HELPERS,
  FUSE_SUPER_MAGIC,
  FUSE_UNMOUNT_HELPERS,
  HELPER_SEARCH_DIRS,
  fuseHelperFor,
  fusePlanner,
} from "./plan/fuse.ts";
export { formatExec, type HelperKind, type HelperStep } from "./plan/steps.ts";
export { HELPER_ECHILD } from "./ops/retry.ts";
export { helperSearchDirs, locateHelper } from "./ops/helpers.ts";
export { runProcess, PROCESS_OUTPUT_LIMIT, type ProcessExit, type ProcessStdio } from "./sys/process.ts";
// batches (apply, mountAll, fstab, temp mounts): docs/apply.md
export { rootPath, MAX_ROOT_PATH_LINKS, type ReadLink } from "./plan/root-path.ts";
export { parseApplyInput, type ApplyInput } from "./plan/apply-input.ts";
export { entriesFromMounts, type BatchEntry, type CreateTarget } from "./plan/batch-entry.ts";
export { parseFstab, selectFstab, findFstabLine, matchFstype, matchOptions, decodeFstabField, type FstabLine } from "./plan/fstab.ts";
export { mountAll, runBatch, type BatchOptions, type BatchOutcome, type EntryResult, type MountedBatch } from "./ops/batch.ts";
export type { BatchShared } from "./ops/batch-shared.ts";
export { applyText, planApply, type ApplyOptions } from "./ops/apply.ts";
export { defaultFstab, fstabRequest, mountFromFstab, mountFstab, planFromFstab, unmountFstab, type FstabMountOptions, type FstabOptions, type FstabPaths } from "./ops/fstab.ts";
export { resolveInRoot, canonicalRoot, targetInPrefix, placeInPrefix } from "./ops/resolve.ts";
export { withTempMount, withReadonlyTempMount, withBatch } from "./ops/temp-mount.ts";
export { cleanupTempMounts, type TempCleanup, type TempCleanupOptions } from "./ops/temp-cleanup.ts";
export { tempMountLocation, setTempMountLocation, makeTempDir, TEMP_DIR_PREFIX } from "./ops/temp-location.ts";
export { withMountsFromText } from "./ops/with-mounts.ts";
// idmapped mounts (docs/idmap.md)
export { parseIdMappings, idMappingPair, type IdMapping, type IdMappingPair } from "./plan/idmap-mapping.ts";
export { planIdmapMount, type IdmapAttrs } from "./plan/idmap.ts";
export { idmapOverlayStrategy } from "./plan/idmap-overlay.ts";
export { usernsFd, closeUsernsFds, idmapMount, openIdmappedTree, cleanupIdmapTemp } from "./ops/idmap.ts";
export { withDirThread } from "./sys/dir-thread.ts";
