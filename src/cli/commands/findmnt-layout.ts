/**
 * How a findmnt command line is laid out, tree or list, and which columns it prints without -o:
 * util-linux findmnt's decision, and what each dialect draws of it (mountkit findmnt's, or a
 * link named findmnt's, which is findmnt(8)'s). Pure: a command line in, a layout out.
 */
import { DEFAULT_COLUMNS, RECORD_COLUMNS } from "../../mountinfo/findmnt.ts";
import { has, type ParsedArgs } from "../args.ts";

/**
 * Which command line a findmnt invocation speaks: `mountkit findmnt`'s (a list unless --tree or
 * -R asks for a tree; --json's ten fields: DESIGN.md's contract), or util-linux findmnt(8)'s
 * (a link named findmnt: its tree by default, its four columns in every format).
 */
export type FindmntDialect = "mountkit" | "findmnt(8)";

/** How util-linux findmnt lays a command line out (findmntLayout), and what the dialect draws. */
export interface FindmntLayout {
  /** util-linux findmnt draws its tree */
  readonly tree: boolean;
  /** its tree of the whole table, each mount found below the nearest found one above it */
  readonly wholeTree: boolean;
  /** -R with something to filter by: each mount found with every mount below it */
  readonly submounts: boolean;
  /** the dialect draws the tree: findmnt(8)'s wherever findmnt does, mountkit's only where --tree or -R asks */
  readonly drawsTree: boolean;
}

/** What findmntLayout needs to know of the table and the filters, besides the flags. */
export interface LayoutFacts {
  /** the table can be a tree: the system's, or one saved file (a table of several files is none) */
  readonly treeable: boolean;
  /** a search: a PATH or SOURCE operand, -T, -M or -S */
  readonly search: boolean;
  /** nothing to filter by (-R has nothing to act on) */
  readonly listAll: boolean;
}

/**
 * How util-linux 2.38 findmnt lays this command line out, which decides the exit status of a
 * search that finds nothing in both dialects, and what the link draws. findmnt draws a tree
 * unless -l, -r, -P, -D or -m is given or, without -R, -f or a search (PATH, -T, -M, -S); --tree
 * draws it whatever those say; a saved table of more than one file is no tree. -R with nothing
 * to filter by (listAll) is findmnt's whole tree. -J changes none of it (a tree nests its
 * mounts under "children").
 */
export function findmntLayout(args: ParsedArgs, { treeable, search, listAll }: LayoutFacts, dialect: FindmntDialect): FindmntLayout {
  const submounts = has(args, "submounts") && !listAll;
  const listed = (["list", "raw", "pairs", "df", "mtab"] as const).some((f) => has(args, f)) || (!submounts && (search || has(args, "first-only")));
  const tree = treeable && (has(args, "tree") || !listed);
  const drawsTree = tree && (dialect === "findmnt(8)" || has(args, "tree") || has(args, "submounts"));
  return { tree, wholeTree: tree && !submounts, submounts, drawsTree };
}

/**
 * The columns printed without -o, --output-all or -D: findmnt's TARGET, SOURCE, FSTYPE, OPTIONS
 * in every format, but mountkit findmnt --json's ten (FindmntRecord's: DESIGN.md's contract).
 */
export function defaultColumns(dialect: FindmntDialect, json: boolean): readonly string[] {
  return json && dialect === "mountkit" ? RECORD_COLUMNS : DEFAULT_COLUMNS;
}
