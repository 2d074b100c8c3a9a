/**
 * sizeof(sigset_t) in glibc (1024 bits, on x86_64 and arm64): the buffer size of every signal
 * set mountkit hands libc (spawning, cloning, raising). test/integration/process-layout.test.ts
 * compares it with the headers.
 */
export const SIGSET_BYTES = 128;
