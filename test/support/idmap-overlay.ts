/**
 * Fixtures shared by the idmapped overlay tests (both strategies): lower layers whose files
 * belong to container ids, a snapshot of what must never change, and the Mount to ask for.
 */
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { closeUsernsFds, usernsFd } from "../../src/ops/idmap.ts";
import { resetTempMountLocation, setTempMountLocation } from "../../src/ops/temp-location.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { scratch } from "./root.ts";

/** uid/gid map of every idmapped overlay test: container 0.. is host 100000.., container 65536 is host 0 */
export const MAP = "0:100000:65536,65536:0:1";
export const IDMAP_OPTIONS = [`uidmap=${MAP}`, `gidmap=${MAP}`];

/**
 * Make and cache the user namespace for map before a test counts fds (a plan borrows the
 * cached one); the duplicate usernsFd() returns is closed at once.
 */
export function cacheUserns(map = MAP): void {
  libcSyscalls.close(usernsFd(map, map));
}

/**
 * The per-test state of an idmapped overlay test file: a scratch dir with its own temp mount
 * location (so any temp dir a mount makes shows there), and cleanups run after each test,
 * newest first, before the cached user namespaces are closed.
 */
export function idmapOverlayFixture() {
  let current: ReturnType<typeof scratch> | undefined;
  const cleanups: (() => void)[] = [];
  const fixture = {
    cleanups,
    get scratch() {
      if (current === undefined) throw new Error("call fresh() first");
      return current;
    },
    fresh(label: string) {
      const s = (current = scratch(label));
      cleanups.push(() => s.dispose());
      setTempMountLocation(s.path("tmp"));
      cleanups.push(resetTempMountLocation);
      return s;
    },
    /** a new dir under the scratch dir */
    dir(...parts: string[]) {
      const p = fixture.scratch.path(...parts);
      mkdirSync(p, { recursive: true });
      return p;
    },
    /** makeLowers() under the scratch dir */
    lowers: (n: number) => makeLowers(n, (name) => fixture.dir(name)),
    tearDown() {
      for (const c of cleanups.splice(0).reverse()) c();
      closeUsernsFds();
    },
  };
  return fixture;
}

/**
 * n lower layers made by mkdirIn (a dir under the test's scratch): layer i holds file<i>
 * owned by 1000+i:2000+i and sub<i>/deep. Returns their paths, top first.
 */
export function makeLowers(n: number, mkdirIn: (name: string) => string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const layer = mkdirIn(`lower${i}`);
    writeFileSync(`${layer}/file${i}`, `content of layer ${i}`);
    chownSync(`${layer}/file${i}`, 1000 + i, 2000 + i);
    mkdirSync(`${layer}/sub${i}`);
    writeFileSync(`${layer}/sub${i}/deep`, `deep ${i}`);
    return layer;
  });
}

/** Every file under root with its content and on-disk owner: what must never change. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        out[p] = `dir ${st.uid}:${st.gid}`;
        walk(p);
      } else out[p] = `${readFileSync(p, "utf8")} ${st.uid}:${st.gid}`;
    }
  };
  walk(root);
  return out;
}

/** An idmapped overlay Mount; without upper, a read-only overlay of the layers. */
export function idmappedOverlay(layers: readonly string[], upper?: string, work?: string, extra: readonly string[] = []) {
  const layered = upper === undefined ? [] : [`upperdir=${upper}`, `workdir=${work}`];
  return { type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`, ...layered, ...extra, ...IDMAP_OPTIONS] };
}

/** The errno code a call failed with (EROFS...), or undefined when it did not fail. */
export function errnoOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return undefined;
}
