/**
 * What a dir thread is asked and answers (dir-thread.ts <-> dir-thread-worker.ts).
 */

/** The step that failed, in reply slot 1; 0 when the mount was made. */
export const DIR_THREAD_STEP = { unshare: 1, chdir: 2, mount: 3 } as const;

export interface DirMountRequest {
  /** Int32Array over it: [0] done flag (0 -> 1), [1] failed step, [2] errno */
  readonly reply: SharedArrayBuffer;
  readonly dir: string;
  readonly source: string | null;
  readonly target: string;
  readonly fstype: string | null;
  readonly flags: number;
  readonly data: string | null;
}
