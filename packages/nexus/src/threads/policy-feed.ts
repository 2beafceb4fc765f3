/**
 * How API threads keep their policy engines identical to the main thread's: every change of the
 * main engine goes over a `Feed` (see `feed.ts`) as plain data, the policies already validated and
 * analysed on the main thread, and a worker's engine replays them in order. A worker asks its
 * mirror before it authorizes a read, so a policy change acknowledged by the main thread is in
 * force on every thread for the next request, whichever thread serves it.
 */
import type { MessagePort } from 'node:worker_threads';
import {
  fromPolicyTransfer,
  toPolicyTransfer,
  type CompiledPolicy,
  type Logger,
  type PolicyChange,
  type PolicyEngine,
  type PolicyTransfer,
} from '@spike-ts/core';
import { createMirror, type Mirror } from './feed.ts';

/** A change of the main thread's engine, as sent to workers. */
export type PolicyBody =
  | { readonly kind: 'load'; readonly policies: readonly PolicyTransfer[] }
  | { readonly kind: 'upsert'; readonly policy: PolicyTransfer }
  | { readonly kind: 'remove'; readonly name: string };

/** The start message of a worker's feed: every policy, in evaluation order. */
export function policySnapshot(policies: readonly CompiledPolicy[]): PolicyBody {
  return { kind: 'load', policies: policies.map(toPolicyTransfer) };
}

export function policyBody(change: PolicyChange): PolicyBody {
  if (change.kind === 'load') return policySnapshot(change.policies);
  if (change.kind === 'upsert') return { kind: 'upsert', policy: toPolicyTransfer(change.policy) };
  return { kind: 'remove', name: change.name };
}

/**
 * Replays the main thread's policy changes into `engine`. `current()` false means the engine may
 * differ from the main thread's: the caller must not authorize with it.
 */
export function createPolicyMirror(options: {
  readonly engine: PolicyEngine;
  readonly port: MessagePort;
  readonly counters: Int32Array;
  readonly index: number;
  readonly logger: Logger;
}): Mirror {
  const { engine } = options;
  const apply = (body: PolicyBody): void => {
    if (body.kind === 'load') engine.load(body.policies.map(fromPolicyTransfer));
    else if (body.kind === 'upsert') engine.upsert(fromPolicyTransfer(body.policy));
    else engine.remove(body.name);
  };
  return createMirror<PolicyBody>({
    ...options,
    what: 'the policies; its reads go to the main thread',
    start(body) {
      if (body.kind !== 'load') throw new Error('a policy feed must start with a snapshot');
      apply(body);
    },
    apply,
  });
}
