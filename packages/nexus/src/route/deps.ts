/**
 * What route handlers may use. Built once by `createNexus` and shared by every route.
 */
import type { SecretStore } from '@spike-ts/core';
import type { ApprovalService } from '../approvals/approval-service.ts';
import type { Authorizer } from '../authz.ts';
import type { NexusConfig } from '../config.ts';
import type { Custody } from '../custody-port.ts';
import type { RootKeyRotationService } from '../rotation/root-key-rotation.ts';
import type { NexusState } from '../state.ts';

export interface RouteDeps {
  readonly store: SecretStore;
  readonly state: NexusState;
  readonly config: NexusConfig;
  readonly authz: Authorizer;
  /** Undefined with the memory backend (recover/restore then answer 400). */
  readonly custody: Custody | undefined;
  /** Online root-key rotation (ADR 0044); absent in API threads, which forward its routes. */
  readonly rotation?: RootKeyRotationService;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** The audit chain's key and last checkpoint (ADR 0040); undefined when audit records go nowhere. */
  readonly auditChain?: { readonly publicKeyPem: string; readonly keyId: string; lastCheckpoint(): string };
  /** Multi-party approval (ADR 0042): requests, votes and the grant check of gated routes. */
  readonly approvals: ApprovalService;
  /** Runs policy mutations one at a time so the store and the compiled engine never diverge. */
  readonly policyQueue: SerialQueue;
}

export interface SerialQueue {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(task) {
      const result = tail.then(task, task);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
