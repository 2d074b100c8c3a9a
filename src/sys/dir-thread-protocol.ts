/**
 * What a dir thread is asked and answers (dir-thread.ts <-> dir-thread-worker.ts).
 */

/** The step that failed, in reply slot 1; 0 when the mount was made. */
export const DIR_THREAD_STEP = { unshare: 1, chdir: 2, mount: 3 } as const;

/**
 * Reply slot 0: posted by the caller; then either taken up by the thread (compare-and-swap; the
 * mount is under way) and answered, or cancelled by the caller (compare-and-swap) when the
 * thread did not take it in time. So a request is worked on only if its caller still waits, and
 * once taken the caller waits as long as mount(2) takes: a mount can never succeed after its
 * caller has given up on it.
 */
export const DIR_THREAD_STATE = { posted: 0, answered: 1, taken: 2, cancelled: 3 } as const;

export interface DirMountRequest {
  /** Int32Array over it: [0] DIR_THREAD_STATE, [1] failed step, [2] errno */
  readonly reply: SharedArrayBuffer;
  readonly dir: string;
  readonly source: string | null;
  readonly target: string;
  readonly fstype: string | null;
  readonly flags: number;
  readonly data: string | null;
}
