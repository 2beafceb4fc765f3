/**
 * Overwrite key material in place. Accepts missing buffers so callers can zero everything in a
 * `finally` block without checking which ones were allocated.
 */
export function zeroize(...bufs: (Uint8Array | undefined | null)[]): void {
  for (const buf of bufs) {
    if (buf !== undefined && buf !== null) buf.fill(0);
  }
}
