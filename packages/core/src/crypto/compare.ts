import { timingSafeEqual } from 'node:crypto';

/**
 * Compare two byte strings in time that does not depend on where they differ. Buffers of
 * different lengths are unequal; their lengths are not treated as secret, but the content is
 * still run through the same constant-time routine so both outcomes do the same kind of work.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
