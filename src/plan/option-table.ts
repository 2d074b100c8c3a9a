/**
 * The mount option table: data with behaviour bits, in the style of util-linux libmount.
 * The same table drives classification (classify.ts), `--help` and `features` output.
 */
import { requireString } from "./caller-input.ts";
import { MS } from "./flags.ts";
import { LOOP_ENCRYPTION_HINT, LOOP_ENCRYPTION_UNSUPPORTED } from "./loop-encryption.ts";
import { MOUNT_ATTR, MOUNT_ATTR_ATIME_MASK } from "./mount-api-flags.ts";

export type OptionBehaviour =
  /** sets a mount(2) flag */
  | { kind: "set"; flag: number }
  /** clears a mount(2) flag */
  | { kind: "clear"; flag: number }
  /** a propagation change, applied as its own mount(2) call after the mount */
  | { kind: "propagation"; flag: number }
  /** accepted and dropped: it names the default ("defaults" is not fs data) */
  | { kind: "noop" }
  /**
   * handled by mountkit itself, never sent to the kernel. implies: MS_* flags it sets where it
   * stands (mount(8)'s user implies nosuid,nodev,noexec; a later exec clears noexec again)
   */
  | { kind: "userspace"; implies?: number }
  /** libmount's, but mountkit cannot carry it out: refused by name rather than dropped or sent to the kernel */
  | { kind: "unsupported"; why: string; hint?: string }
  /** selects a feature that builds extra plan steps (loop devices, idmapping) */
  | { kind: "feature"; feature: LoopFeature | "uidmap" | "gidmap" | "idmap" | IdmapScope | "subdir" | "copyup" }
  /**
   * a mount attribute for the whole tree at the target, set with mount_setattr(AT_RECURSIVE)
   * once it is mounted (OCI's rro, rnosuid...): MOUNT_ATTR_* bits set and cleared
   */
  | { kind: "recursive"; set: number; clr: number };

/**
 * OCI's idmap and ridmap beside a mapping: on an rbind, idmap the top mount alone, or every mount
 * of the tree (runtime-spec 1.2). Without either, an rbind's whole tree, as containerd does.
 */
export type IdmapScope = "idmap-top" | "idmap-recursive";

/**
 * The options that ask for a loop device (libmount's MNT_MS_LOOP, MNT_MS_OFFSET,
 * MNT_MS_SIZELIMIT): any of them makes a loop mount, without the loop word too.
 */
export type LoopFeature = "loop" | "loop-device" | "loop-offset" | "loop-sizelimit";

export function isLoopFeature(feature: string): feature is LoopFeature {
  return feature === "loop" || feature === "loop-device" || feature === "loop-offset" || feature === "loop-sizelimit";
}

export interface OptionSpec {
  readonly name: string;
  /** true when the option takes a value: name=value */
  readonly valued?: boolean;
  readonly behaviour: OptionBehaviour;
  readonly help: string;
  /** where it comes from: containerd's table, what mount(8) users expect beyond it, or the OCI runtime spec */
  readonly origin: "containerd" | "util-linux" | "oci";
}

const set = (flag: number): OptionBehaviour => ({ kind: "set", flag });
const recursive = (set: number, clr: number): OptionBehaviour => ({ kind: "recursive", set, clr });
// An atime mode is set by clearing the whole atime field (the kernel refuses part of it).
const recursiveAtime = (mode: number): OptionBehaviour => recursive(mode, MOUNT_ATTR_ATIME_MASK);
/** MOUNT_ATTR_RELATIME: no bit, the atime field cleared */
const RELATIME_MODE = 0;
const clear = (flag: number): OptionBehaviour => ({ kind: "clear", flag });
const propagation = (flag: number): OptionBehaviour => ({ kind: "propagation", flag });

/**
 * containerd's mount manager's dm-verity options (X-containerd.dmverity.roothash=,
 * .roothash-file=, .hash-offset=, .device-name=; core/mount/manager/dmverity_linux.go): it opens
 * a dm-verity device over an erofs layer from them. As X-* words they would be dropped and the
 * layer mounted unverified, so they are refused, as verity.* is. Matched by prefix (lookupOption).
 */
const DMVERITY_PREFIX = "X-containerd.dmverity";
const DMVERITY: OptionSpec = {
  name: `${DMVERITY_PREFIX}.*`,
  valued: true,
  behaviour: {
    kind: "unsupported",
    why: "mountkit does not set up dm-verity devices (containerd's mount manager makes one over the layer from these options)",
    hint: "open the device first (veritysetup open IMAGE NAME HASHDEV ROOTHASH) and mount /dev/mapper/NAME without them",
  },
  help: "refused: containerd's dm-verity",
  origin: "containerd",
};

/** X-containerd.dmverity, alone or followed by "." or "=". */
function isDmverityOption(item: string): boolean {
  if (!item.startsWith(DMVERITY_PREFIX)) return false;
  const next = item[DMVERITY_PREFIX.length];
  return next === undefined || next === "." || next === "=";
}

let table: readonly OptionSpec[] | undefined;

/**
 * The table, built on first use: a command whose mounts name no option (umount, `mount -t tmpfs
 * none DIR`) never needs it, and building it at load cost each of them about 65 page faults and
 * 0.6 ms (docs/bench.md).
 */
export function optionTable(): readonly OptionSpec[] {
  return (table ??= buildOptionTable());
}

function buildOptionTable(): OptionSpec[] {
  return [
    { name: "async", behaviour: clear(MS.SYNCHRONOUS), help: "asynchronous I/O", origin: "containerd" },
    { name: "atime", behaviour: clear(MS.NOATIME), help: "update access times", origin: "containerd" },
    { name: "bind", behaviour: set(MS.BIND), help: "bind mount", origin: "containerd" },
    { name: "defaults", behaviour: { kind: "noop" }, help: "default options (rw,suid,dev,exec,async)", origin: "containerd" },
    { name: "dev", behaviour: clear(MS.NODEV), help: "allow device files", origin: "containerd" },
    { name: "diratime", behaviour: clear(MS.NODIRATIME), help: "update directory access times", origin: "containerd" },
    { name: "dirsync", behaviour: set(MS.DIRSYNC), help: "synchronous directory updates", origin: "containerd" },
    { name: "exec", behaviour: clear(MS.NOEXEC), help: "allow executing binaries", origin: "containerd" },
    { name: "mand", behaviour: set(MS.MANDLOCK), help: "mandatory locks (ignored by kernels >= 5.15)", origin: "containerd" },
    { name: "noatime", behaviour: set(MS.NOATIME), help: "never update access times", origin: "containerd" },
    { name: "nodev", behaviour: set(MS.NODEV), help: "ignore device files", origin: "containerd" },
    { name: "nodiratime", behaviour: set(MS.NODIRATIME), help: "never update directory access times", origin: "containerd" },
    { name: "noexec", behaviour: set(MS.NOEXEC), help: "forbid executing binaries", origin: "containerd" },
    { name: "nomand", behaviour: clear(MS.MANDLOCK), help: "no mandatory locks", origin: "containerd" },
    { name: "norelatime", behaviour: clear(MS.RELATIME), help: "not relatime", origin: "containerd" },
    { name: "nostrictatime", behaviour: clear(MS.STRICTATIME), help: "not strictatime", origin: "containerd" },
    { name: "nosuid", behaviour: set(MS.NOSUID), help: "ignore set-user-id and set-group-id bits", origin: "containerd" },
    { name: "rbind", behaviour: set(MS.BIND | MS.REC), help: "recursive bind mount", origin: "containerd" },
    { name: "relatime", behaviour: set(MS.RELATIME), help: "update access times relative to modification", origin: "containerd" },
    { name: "remount", behaviour: set(MS.REMOUNT), help: "change an existing mount", origin: "containerd" },
    { name: "ro", behaviour: set(MS.RDONLY), help: "read-only", origin: "containerd" },
    { name: "rw", behaviour: clear(MS.RDONLY), help: "read-write", origin: "containerd" },
    { name: "strictatime", behaviour: set(MS.STRICTATIME), help: "always update access times", origin: "containerd" },
    { name: "suid", behaviour: clear(MS.NOSUID), help: "honour set-user-id and set-group-id bits", origin: "containerd" },
    { name: "sync", behaviour: set(MS.SYNCHRONOUS), help: "synchronous I/O", origin: "containerd" },
    { name: "loop", behaviour: { kind: "feature", feature: "loop" }, help: "mount a file through a loop device", origin: "containerd" },
    { name: "uidmap", valued: true, behaviour: { kind: "feature", feature: "uidmap" }, help: "idmap the mount: container:host:size[,...]", origin: "containerd" },
    { name: "gidmap", valued: true, behaviour: { kind: "feature", feature: "gidmap" }, help: "idmap the mount: container:host:size[,...]", origin: "containerd" },

    { name: "nosymfollow", behaviour: set(MS.NOSYMFOLLOW), help: "do not follow symlinks", origin: "util-linux" },
    { name: "symfollow", behaviour: clear(MS.NOSYMFOLLOW), help: "follow symlinks", origin: "util-linux" },
    { name: "lazytime", behaviour: set(MS.LAZYTIME), help: "keep timestamps in memory only", origin: "util-linux" },
    { name: "nolazytime", behaviour: clear(MS.LAZYTIME), help: "write timestamps out", origin: "util-linux" },
    { name: "silent", behaviour: set(MS.SILENT), help: "suppress some kernel messages", origin: "util-linux" },
    { name: "loud", behaviour: clear(MS.SILENT), help: "do not suppress kernel messages", origin: "util-linux" },
    { name: "move", behaviour: set(MS.MOVE), help: "move the mount at the source to the target (mount --move)", origin: "util-linux" },
    { name: "loop", valued: true, behaviour: { kind: "feature", feature: "loop-device" }, help: "mount a file through this loop device (loop=/dev/loopN)", origin: "util-linux" },
    { name: "offset", valued: true, behaviour: { kind: "feature", feature: "loop-offset" }, help: "mount through a loop device that starts this far into the file (4096, 1MiB, 0x1000)", origin: "util-linux" },
    { name: "sizelimit", valued: true, behaviour: { kind: "feature", feature: "loop-sizelimit" }, help: "mount through a loop device that shows at most this much of the file", origin: "util-linux" },
    { name: "X-mount.idmap", valued: true, behaviour: { kind: "feature", feature: "idmap" }, help: "idmap the mount: [u:|g:|b:]id-mount:id-host:id-range ... (blank-separated), or a user namespace file", origin: "util-linux" },
    { name: "X-mount.subdir", valued: true, behaviour: { kind: "feature", feature: "subdir" }, help: "mount this directory of the filesystem, not its root", origin: "util-linux" },
    { name: "iversion", behaviour: set(MS.I_VERSION), help: "increment i_version on change", origin: "util-linux" },
    { name: "noiversion", behaviour: clear(MS.I_VERSION), help: "do not increment i_version", origin: "util-linux" },

    { name: "private", behaviour: propagation(MS.PRIVATE), help: "make the mount private", origin: "util-linux" },
    { name: "rprivate", behaviour: propagation(MS.PRIVATE | MS.REC), help: "make the mount tree private", origin: "util-linux" },
    { name: "shared", behaviour: propagation(MS.SHARED), help: "make the mount shared", origin: "util-linux" },
    { name: "rshared", behaviour: propagation(MS.SHARED | MS.REC), help: "make the mount tree shared", origin: "util-linux" },
    { name: "slave", behaviour: propagation(MS.SLAVE), help: "make the mount a slave", origin: "util-linux" },
    { name: "rslave", behaviour: propagation(MS.SLAVE | MS.REC), help: "make the mount tree slaves", origin: "util-linux" },
    { name: "unbindable", behaviour: propagation(MS.UNBINDABLE), help: "make the mount unbindable", origin: "util-linux" },
    { name: "runbindable", behaviour: propagation(MS.UNBINDABLE | MS.REC), help: "make the mount tree unbindable", origin: "util-linux" },

    // OCI runtime-spec 1.1's recursive attributes (runc, Docker's read-only binds): the whole tree
    // at the target, submounts included, where ro,rbind makes only the top mount read-only.
    // util-linux 2.39 writes them NAME=recursive (ro=recursive): see lookupOption.
    { name: "rro", behaviour: recursive(MOUNT_ATTR.RDONLY, 0), help: "read-only, submounts too", origin: "oci" },
    { name: "rrw", behaviour: recursive(0, MOUNT_ATTR.RDONLY), help: "read-write, submounts too", origin: "oci" },
    { name: "rnosuid", behaviour: recursive(MOUNT_ATTR.NOSUID, 0), help: "nosuid, submounts too", origin: "oci" },
    { name: "rsuid", behaviour: recursive(0, MOUNT_ATTR.NOSUID), help: "suid, submounts too", origin: "oci" },
    { name: "rnodev", behaviour: recursive(MOUNT_ATTR.NODEV, 0), help: "nodev, submounts too", origin: "oci" },
    { name: "rdev", behaviour: recursive(0, MOUNT_ATTR.NODEV), help: "dev, submounts too", origin: "oci" },
    { name: "rnoexec", behaviour: recursive(MOUNT_ATTR.NOEXEC, 0), help: "noexec, submounts too", origin: "oci" },
    { name: "rexec", behaviour: recursive(0, MOUNT_ATTR.NOEXEC), help: "exec, submounts too", origin: "oci" },
    { name: "rnodiratime", behaviour: recursive(MOUNT_ATTR.NODIRATIME, 0), help: "nodiratime, submounts too", origin: "oci" },
    { name: "rdiratime", behaviour: recursive(0, MOUNT_ATTR.NODIRATIME), help: "diratime, submounts too", origin: "oci" },
    { name: "rnosymfollow", behaviour: recursive(MOUNT_ATTR.NOSYMFOLLOW, 0), help: "nosymfollow, submounts too", origin: "oci" },
    { name: "rsymfollow", behaviour: recursive(0, MOUNT_ATTR.NOSYMFOLLOW), help: "symfollow, submounts too", origin: "oci" },
    { name: "rnoatime", behaviour: recursiveAtime(MOUNT_ATTR.NOATIME), help: "noatime, submounts too", origin: "oci" },
    { name: "rstrictatime", behaviour: recursiveAtime(MOUNT_ATTR.STRICTATIME), help: "strictatime, submounts too", origin: "oci" },
    { name: "rrelatime", behaviour: recursiveAtime(RELATIME_MODE), help: "relatime, submounts too", origin: "oci" },
    // not noatime / not relatime / not strictatime: the kernel's default mode, relatime
    { name: "ratime", behaviour: recursiveAtime(RELATIME_MODE), help: "atime (relatime), submounts too", origin: "oci" },
    { name: "rnorelatime", behaviour: recursiveAtime(RELATIME_MODE), help: "norelatime (relatime), submounts too", origin: "oci" },
    { name: "rnostrictatime", behaviour: recursiveAtime(RELATIME_MODE), help: "nostrictatime (relatime), submounts too", origin: "oci" },

    // runtime-spec 1.2: how an idmapped rbind is idmapped (the mapping is uidmap=/gidmap=, or the
    // OCI entry's uidMappings/gidMappings, or X-mount.idmap=); the last one given wins
    { name: "idmap", behaviour: { kind: "feature", feature: "idmap-top" }, help: "with a mapping: idmap an rbind's top mount only, its submounts keep their ids", origin: "oci" },
    { name: "ridmap", behaviour: { kind: "feature", feature: "idmap-recursive" }, help: "with a mapping: idmap every mount of an rbind's tree (the default)", origin: "oci" },

    // runc and crun's extension (runtime-spec: MAY), which podman adds to its tmpfs mounts: the
    // tmpfs starts with a copy of the directory it is mounted over (plan/copy-up.ts).
    { name: "tmpcopyup", behaviour: { kind: "feature", feature: "copyup" }, help: "fill the new tmpfs with a copy of the directory it covers (runc/crun)", origin: "oci" },

    // libmount's userspace map (optmap.c): words mount(8) consumes and never passes to the kernel.
    // A word given a value (nofail=1) is not the word: it goes to the kernel, as util-linux sends it.
    { name: "defaults", valued: true, behaviour: { kind: "noop" }, help: "default options (any value is ignored, as mount(8) ignores it)", origin: "util-linux" },
    { name: "auto", behaviour: { kind: "userspace" }, help: "fstab: mount with -a", origin: "util-linux" },
    { name: "noauto", behaviour: { kind: "userspace" }, help: "fstab: skip with -a", origin: "util-linux" },
    { name: "nofail", behaviour: { kind: "userspace" }, help: "fstab: a failure is only a warning", origin: "util-linux" },
    { name: "_netdev", behaviour: { kind: "userspace" }, help: "fstab: needs the network", origin: "util-linux" },
    // user, users, owner and group let others mount: mount(8) makes such a mount nosuid,nodev
    // (and noexec for user, users) where the word stands, so a later suid/dev/exec undoes one.
    // Only the bare word does: user=NAME (what mount(8) records for who mounted) implies nothing.
    { name: "user", behaviour: { kind: "userspace", implies: MS.NOSUID | MS.NODEV | MS.NOEXEC }, help: "fstab: users may mount (implies nosuid,nodev,noexec)", origin: "util-linux" },
    { name: "user", valued: true, behaviour: { kind: "userspace" }, help: "the user who mounted it (mount(8) records it)", origin: "util-linux" },
    { name: "nouser", behaviour: { kind: "userspace" }, help: "fstab: only root may mount", origin: "util-linux" },
    { name: "users", behaviour: { kind: "userspace", implies: MS.NOSUID | MS.NODEV | MS.NOEXEC }, help: "fstab: any user may mount and unmount (implies nosuid,nodev,noexec)", origin: "util-linux" },
    { name: "nousers", behaviour: { kind: "userspace" }, help: "fstab: not users", origin: "util-linux" },
    { name: "owner", behaviour: { kind: "userspace", implies: MS.NOSUID | MS.NODEV }, help: "fstab: the device owner may mount (implies nosuid,nodev)", origin: "util-linux" },
    { name: "noowner", behaviour: { kind: "userspace" }, help: "fstab: not owner", origin: "util-linux" },
    { name: "group", behaviour: { kind: "userspace", implies: MS.NOSUID | MS.NODEV }, help: "fstab: the device group may mount (implies nosuid,nodev)", origin: "util-linux" },
    { name: "nogroup", behaviour: { kind: "userspace" }, help: "fstab: not group", origin: "util-linux" },
    { name: "comment", valued: true, behaviour: { kind: "userspace" }, help: "fstab: a comment for tools", origin: "util-linux" },
    { name: "comment", behaviour: { kind: "userspace" }, help: "fstab: an empty comment", origin: "util-linux" },
    { name: "uhelper", valued: true, behaviour: { kind: "userspace" }, help: "the umount.HELPER for this mount (recorded by mount(8); mountkit keeps no utab)", origin: "util-linux" },
    // libmount hands helper=X on to mount helpers; mountkit does not choose mount.X by it.
    { name: "helper", valued: true, behaviour: { kind: "userspace" }, help: "mount(8)'s helper type (passed on to a mount.TYPE helper; mountkit does not pick mount.X by it)", origin: "util-linux" },
    // Dropped, these would mount without the protection asked for: refused by name instead.
    { name: "encryption", valued: true, behaviour: { kind: "unsupported", why: LOOP_ENCRYPTION_UNSUPPORTED, hint: LOOP_ENCRYPTION_HINT }, help: "refused: loop encryption", origin: "util-linux" },
    ...verityOptions(),
    DMVERITY,
  ];
}

/** util-linux's verity.* options, refused (a loop, as the table is built for a mount's options: see optionLookups). */
function verityOptions(): OptionSpec[] {
  const specs: OptionSpec[] = [];
  for (const key of ["hashdevice", "roothash", "hashoffset", "roothashfile", "fecdevice", "fecoffset", "fecroots", "roothashsig", "oncorruption"]) {
    specs.push({ name: `verity.${key}`, valued: true, behaviour: { kind: "unsupported", why: "mountkit does not set up dm-verity devices" }, help: "refused: dm-verity", origin: "util-linux" });
  }
  return specs;
}

interface OptionLookups {
  /** "loop" is both a word and loop=DEVICE: words by name, the valued ones apart */
  readonly byName: ReadonlyMap<string, OptionSpec>;
  /** the few options with a value, matched in place: no substring is made per item */
  readonly valued: readonly OptionSpec[];
}

let lookups: OptionLookups | undefined;

function optionLookups(): OptionLookups {
  if (lookups !== undefined) return lookups;
  // loops, not array methods: a mount that names an option builds these, and an array method's
  // first use costs start-up time (docs/bench.md)
  const byName = new Map<string, OptionSpec>();
  const valued: OptionSpec[] = [];
  for (const spec of optionTable()) {
    if (spec.valued) valued.push(spec);
    else byName.set(spec.name, spec);
  }
  return (lookups = { byName, valued });
}

/**
 * The table entry for an option item ("ro", "uidmap=0:1:1"), or undefined for fs data.
 * util-linux's NAME=recursive (ro=recursive, nosuid=recursive) is OCI's rNAME. A library
 * caller's item that is no string is a PlanError.
 */
export function lookupOption(item: string): OptionSpec | undefined {
  if (typeof item !== "string") requireString(item, "option", "look up option");
  return optionSpec(item);
}

/** lookupOption for mountkit's own items, strings already: asked once per option of every mount. */
export function optionSpec(item: string): OptionSpec | undefined {
  const { byName, valued } = optionLookups();
  const eq = item.indexOf("=");
  if (eq < 0) {
    return byName.get(item) ?? (isDmverityOption(item) ? DMVERITY : undefined);
  }
  for (const spec of valued) if (eq === spec.name.length && item.startsWith(spec.name)) return spec;
  if (isDmverityOption(item)) return DMVERITY;
  if (item.endsWith(RECURSIVE_SUFFIX) && eq === item.length - RECURSIVE_SUFFIX.length) {
    const spec = byName.get(`r${item.slice(0, eq)}`);
    if (spec?.behaviour.kind === "recursive") return spec;
  }
  return undefined;
}

const RECURSIVE_SUFFIX = "=recursive";

/**
 * x-* and X-* options are for userspace tools (systemd, mountkit's X-mount.*), never the kernel,
 * nor a mount helper (libmount's MNT_NOHLPS).
 */
export function isUserspaceExtension(item: string): boolean {
  return item.startsWith("x-") || item.startsWith("X-");
}

/** The option words a flag that user/users/owner/group imply is written as, in libmount's order. */
const IMPLIED_WORDS: ReadonlyArray<readonly [number, string]> = [
  [MS.NOEXEC, "noexec"],
  [MS.NOSUID, "nosuid"],
  [MS.NODEV, "nodev"],
];

/**
 * An option item with the words it implies written before it ("user" gives noexec, nosuid,
 * nodev, user), for a helper, which reads the words and not mountkit's flags: libmount hands
 * mount.TYPE the same. The item alone when it implies nothing.
 */
export function withImpliedWords(item: string): readonly string[] {
  const b = optionSpec(item)?.behaviour;
  if (b?.kind !== "userspace" || b.implies === undefined) return [item];
  const implied = b.implies;
  return [...IMPLIED_WORDS.filter(([flag]) => implied & flag).map(([, word]) => word), item];
}
