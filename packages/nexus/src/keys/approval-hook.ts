/**
 * The hook where per-key approval plugs in (multi-party approval is built separately). Nexus
 * calls `check` after authorization and input checks, right before a private key is used (sign,
 * decrypt); an implementation throws a spine error (for example 401) to refuse until the caller
 * holds a valid grant. `required` feeds the `approvalRequired` field of the public key view.
 * Wiring: the key routes (route/keys/keys.ts) build their `KeyService` with `NO_KEY_APPROVALS`;
 * an approval service is passed there as `approvals`.
 */
export type KeyOperation = 'sign' | 'decrypt';

export interface KeyApprovalHook {
  required(name: string): boolean;
  check(caller: string, name: string, operation: KeyOperation): Promise<void>;
}

/** No approvals: every authorized use goes ahead. */
export const NO_KEY_APPROVALS: KeyApprovalHook = Object.freeze({
  required: () => false,
  check: () => Promise.resolve(),
});
