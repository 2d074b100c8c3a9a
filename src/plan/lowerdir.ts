/**
 * overlay's lowerdir= value as the kernel reads it (fs/overlayfs/params.c): layers separated
 * by ':', a backslash escapes the next character (`\:` is a colon inside a path), and `::`
 * starts the data-only layers. The seed (findOverlayLowerdirs) split on every ':', so a path
 * holding an escaped colon became two wrong layers. Pure.
 *
 * Kept small on purpose: the overlay planner (issue 3) has its own parser; the integrator
 * should keep one of the two.
 */
import { PlanError } from "../errors.ts";

export interface Lowerdirs {
  /** every layer, top first, unescaped: paths as open(2) takes them */
  readonly layers: readonly string[];
  /** index of the first data-only layer (after `::`), or layers.length when there is none */
  readonly dataOnlyFrom: number;
}

export function parseLowerdir(value: string): Lowerdirs {
  const layers: string[] = [];
  let dataOnlyFrom: number | undefined;
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === "\\") {
      if (i + 1 >= value.length) throw lowerdirError(value, "ends with a lone backslash");
      current += value[++i];
    } else if (ch === ":") {
      if (value[i + 1] === ":") {
        if (dataOnlyFrom !== undefined) throw lowerdirError(value, "has a second '::'");
        i++;
        pushLayer(layers, current, value);
        dataOnlyFrom = layers.length;
      } else {
        pushLayer(layers, current, value);
      }
      current = "";
    } else {
      current += ch;
    }
  }
  pushLayer(layers, current, value);
  if (dataOnlyFrom === 0) throw lowerdirError(value, "has no regular layer before '::'");
  return { layers, dataOnlyFrom: dataOnlyFrom ?? layers.length };
}

function pushLayer(layers: string[], layer: string, value: string): void {
  if (layer === "") throw lowerdirError(value, "has an empty layer");
  layers.push(layer);
}

function lowerdirError(value: string, detail: string): PlanError {
  return new PlanError(`overlay: lowerdir=${JSON.stringify(value)} ${detail}`, {
    hint: "separate layers with ':', write a ':' inside a path as '\\:'",
  });
}

/** The lowerdir= value for layers: ':' and '\' in a path escaped, `::` before data-only layers. */
export function formatLowerdir(lower: Lowerdirs): string {
  const escape = (path: string) => path.replace(/[\\:]/g, (c) => `\\${c}`);
  const regular = lower.layers.slice(0, lower.dataOnlyFrom).map(escape).join(":");
  const dataOnly = lower.layers.slice(lower.dataOnlyFrom).map(escape).join(":");
  return dataOnly === "" ? regular : `${regular}::${dataOnly}`;
}
