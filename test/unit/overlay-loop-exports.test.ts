// The overlay and loop API is reachable from the package entry point.
import { expect, test } from "bun:test";
import * as mountkit from "../../src/index.ts";

test("the library exports the overlay and loop API", () => {
  for (const name of [
    "attachLoop",
    "detachLoop",
    "setLoopCapacity",
    "listLoopDevices",
    "withDirThread",
    "readOnly",
    "readonlyMounts",
    "readonlyOverlayOptions",
    "removeVolatileOption",
    "overlayStrategy",
    "overlayLayerSources",
    "overlayFsContextStep",
    "parseOverlayOptions",
    "splitLowerdirValue",
    "joinLowerdirValue",
    "compactLayers",
    "longestCommonPrefix",
    "probeOverlay",
    "parseSize",
  ] as const) {
    expect([name, typeof mountkit[name]]).toEqual([name, "function"]);
  }
  expect(mountkit.LOOP_ATTACH_BUSY.attempts).toBe(99);
});
