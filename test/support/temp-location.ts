/**
 * A test's scratch dir whose "tmp" is the temp mount location (withTempMount's dirs go there),
 * and the mount table as text, to compare before and after.
 */
import { readFileSync } from "node:fs";
import { resetTempMountLocation, setTempMountLocation } from "../../src/ops/temp-location.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { scratch } from "./root.ts";

export type TempLocationScratch = ReturnType<typeof scratch> & { readonly location: string };

/** scratch(label) with its "tmp" set as the temp mount location; dispose() unmounts what is left there and resets the location first. */
export function tempLocationScratch(label: string): TempLocationScratch {
  const s = scratch(label);
  const location = setTempMountLocation(s.path("tmp"));
  return {
    ...s,
    location,
    dispose() {
      unmountRecursive(location);
      resetTempMountLocation();
      s.dispose();
    },
  };
}

export const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");
