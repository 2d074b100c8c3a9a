/**
 * mountkit features: the kernel facts and the strategies they choose.
 */
import { ExitCode } from "../../errors.ts";
import { kernelFacts } from "../../ops/features.ts";
import { optionTable } from "../../plan/option-table.ts";
import { probeOverlay } from "../../ops/overlay-probe.ts";
import { overlayStrategy } from "../../plan/overlay.ts";
import { idmapOverlayStrategy } from "../../plan/idmap-overlay.ts";
import { loopMethod } from "../../plan/loop.ts";
import { lazytimeRead } from "../../plan/plain.ts";
import { copyUpStrategy } from "../../plan/copy-up.ts";
import { flagGiven, formatHelp, has, operandsText, parseArgs, UsageError, type FlagSpec } from "../args.ts";
import { printResult, reportError, type Io } from "../output.ts";

const FLAGS: readonly FlagSpec[] = [
  { long: "json", help: "print as JSON" },
  { long: "options", help: "also list every mount option mountkit knows" },
  { long: "help", short: "h", help: "show this help" },
];

const USAGE = "mountkit features [--json] [--options]";

const OVERLAY_STRATEGY_TEXT = {
  fd: "fd: fsopen + one fsconfig per layer (lowerdir+), no size limit",
  legacy: "legacy: mount(2), lowerdirs compacted from pagesize-512 bytes on",
} as const;

const COPY_UP_STRATEGY_TEXT = {
  detached: "detached: fsmount, filled through its fd, ro, then move_mount",
  mounted: "mounted: mount(2) on the target, then filled",
} as const;

const IDMAP_OVERLAY_STRATEGY_TEXT = {
  fd: "fd: detached idmapped trees as lowerdir+ fds, no temp mount point",
  legacy: "legacy: idmapped lowers mounted in temp dirs for the mount(2) call",
} as const;

export function featuresCommand(argv: readonly string[], io: Io): ExitCode {
  const json = flagGiven(argv, FLAGS, "json");
  try {
    const args = parseArgs("features", argv, FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp(USAGE, "Show the kernel facts mountkit probed and the strategies they choose.", FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length > 0) throw new UsageError(`features: takes no operands, got ${operandsText(args.operands)}`, { hint: `usage: ${USAGE}` });
    const facts = kernelFacts();
    const overlay = probeOverlay();
    const strategies = {
      overlayStrategy: overlayStrategy(facts),
      idmapOverlayStrategy: idmapOverlayStrategy(facts),
      loopMethod: loopMethod(facts),
      lazytimeRead: lazytimeRead(facts),
      copyUpStrategy: copyUpStrategy(facts),
      overlayProbe: overlay,
    };
    const options = optionTable().map((o) => ({ name: o.valued ? `${o.name}=` : o.name, kind: o.behaviour.kind, origin: o.origin, help: o.help }));
    if (json) {
      printResult(io, ExitCode.ok, { ...facts, ...strategies, ...(has(args, "options") ? { options } : {}) });
      return ExitCode.ok;
    }
    const yes = (b: boolean) => (b ? "yes" : "no");
    io.out(
      [
        `kernel              ${facts.release}`,
        `page size           ${facts.pageSize}`,
        `user namespace      ${facts.inUserNamespace ? "inside a child user namespace" : "initial"}`,
        `mount API (fsopen)  ${yes(facts.mountApi)}`,
        `mount_setattr       ${yes(facts.mountSetattr)}`,
        `overlay lowerdir+   ${yes(facts.overlayLowerdirAppend)}`,
        `LOOP_CONFIGURE      ${yes(facts.loopConfigure)}`,
        `statx mount id      ${yes(facts.statxMountId)}`,
        `statmount           ${yes(facts.statmount)}`,
        `erofs from a file   ${facts.erofsFileBacked ? "tried first for a mount list's erofs layers, loop devices on ENOTBLK" : "no: loop devices"}`,
        `strategy            ${facts.strategy} (from ${facts.strategySource === "environment" ? "MOUNTKIT_STRATEGY" : "the kernel"})`,
        `overlay layer fds   ${yes(facts.overlayLayerFd)}`,
        `overlay probe       ${overlay.probed ? `lowerdir+ ${yes(overlay.lowerdirAppend)}, layer fds ${yes(overlay.layerFd)}` : `not probed: ${overlay.reason}`}`,
        `overlay strategy    ${OVERLAY_STRATEGY_TEXT[strategies.overlayStrategy]}`,
        `idmapped overlay    ${IDMAP_OVERLAY_STRATEGY_TEXT[strategies.idmapOverlayStrategy]}`,
        `loop attach         ${strategies.loopMethod === "configure" ? "LOOP_CONFIGURE" : "LOOP_SET_FD + LOOP_SET_STATUS64"}`,
        `remount lazytime    ${strategies.lazytimeRead === "statmount" ? "statmount(2) sb_flags" : "mountinfo superblock options"}`,
        `tmpcopyup           ${COPY_UP_STRATEGY_TEXT[strategies.copyUpStrategy]}`,
        "",
      ].join("\n"),
    );
    if (has(args, "options")) {
      for (const o of options) io.out(`${o.name.padEnd(14)} ${o.kind.padEnd(12)} ${o.help}\n`);
    }
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, json);
  }
}
