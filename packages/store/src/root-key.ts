/** Shape check for a root key handed to `unlock` (the key bytes themselves are never reported). */
export const ROOT_KEY_LENGTH = 32;

export function checkRootKey(rootKey: unknown): asserts rootKey is Uint8Array {
  if (!(rootKey instanceof Uint8Array) || rootKey.length !== ROOT_KEY_LENGTH) {
    throw new TypeError(`root key must be a Uint8Array of ${ROOT_KEY_LENGTH} bytes`);
  }
}
