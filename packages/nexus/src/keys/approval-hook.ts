/**
 * The hook where per-key approval plugs in (ADR 0042). Nexus calls `check` after authorization
 * and input checks, right before a private key is used (sign, decrypt), so a malformed message
 * never uses up a grant; the implementation throws 403 `approval_required` unless the caller holds
 * a grant for exactly this key and operation, which it then marks used. `required` feeds the
 * `approvalRequired` field of the public key view. Wiring: the key routes (route/keys/keys.ts)
 * build their `KeyService` with the approval service's hook (`approvalKeyHook`).
 */
export type KeyOperation = 'sign' | 'decrypt';

export interface KeyApprovalHook {
  required(name: string): boolean;
  /** `note` receives the approval request whose grant was used, for the audit record. */
  check(
    caller: string,
    name: string,
    operation: KeyOperation,
    note?: (fields: { approval?: string; operation?: string; approvalStatus?: string }) => void,
  ): Promise<void>;
}

/** No approvals: every authorized use goes ahead. */
export const NO_KEY_APPROVALS: KeyApprovalHook = Object.freeze({
  required: () => false,
  check: () => Promise.resolve(),
});
