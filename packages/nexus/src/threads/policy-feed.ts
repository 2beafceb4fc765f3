/**
 * How API threads keep their policy engines identical to the main thread's.
 *
 * The main thread's `PolicyFeed` posts each change of its engine, as plain data (the policies
 * already validated and analysed there), to one `MessagePort` per worker, and only then sets a
 * shared counter to that change's sequence number. A worker's `PolicyMirror` applies messages as
 * they arrive and, before it authorizes a read, takes synchronously (`receiveMessageOnPort`) every
 * message the counter says was posted. A policy change acknowledged by the main thread is
 * therefore in force on every thread for the next request, whichever thread serves it.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  fromPolicyTransfer,
  toPolicyTransfer,
  type CompiledPolicy,
  type Logger,
  type PolicyChange,
  type PolicyEngine,
  type PolicyTransfer,
} from '@spike-ts/core';

/** On a worker's policy port. `seq` grows by one per change (Int32, wrapping). */
export type PolicyMessage =
  | { readonly seq: number; readonly kind: 'load'; readonly policies: readonly PolicyTransfer[] }
  | { readonly seq: number; readonly kind: 'upsert'; readonly policy: PolicyTransfer }
  | { readonly seq: number; readonly kind: 'remove'; readonly name: string };

/** `a` comes after `b` in Int32 sequence numbers that wrap. */
function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export interface PolicyFeed {
  /** Posts a full snapshot (`policies`, in evaluation order) to `port`, then every change. */
  subscribe(port: MessagePort, policies: readonly CompiledPolicy[]): void;
  unsubscribe(port: MessagePort): void;
  /** Posts a change of the main thread's engine to every subscriber. */
  publish(change: PolicyChange): void;
}

/** `counters[index]` holds the sequence number of the last change posted. */
export function createPolicyFeed(counters: Int32Array, index: number): PolicyFeed {
  const ports = new Set<MessagePort>();
  const post = (message: PolicyMessage): void => {
    for (const port of ports) port.postMessage(message);
    // Only once every subscriber's queue holds the message: a worker that reads this value
    // can take the message at once.
    Atomics.store(counters, index, message.seq);
  };
  return {
    subscribe(port, policies) {
      const snapshot: PolicyMessage = {
        seq: Atomics.load(counters, index),
        kind: 'load',
        policies: policies.map(toPolicyTransfer),
      };
      port.postMessage(snapshot);
      ports.add(port);
    },
    unsubscribe(port) {
      ports.delete(port);
    },
    publish(change) {
      const seq = (Atomics.load(counters, index) + 1) | 0;
      if (change.kind === 'load')
        post({ seq, kind: 'load', policies: change.policies.map(toPolicyTransfer) });
      else if (change.kind === 'upsert')
        post({ seq, kind: 'upsert', policy: toPolicyTransfer(change.policy) });
      else post({ seq, kind: 'remove', name: change.name });
    },
  };
}

export interface PolicyMirror {
  /**
   * Applies every change posted so far; false when this engine cannot be trusted to match the
   * main thread's (no snapshot yet, or a change was lost): the caller must not authorize locally.
   */
  current(): boolean;
  close(): void;
}

export function createPolicyMirror(options: {
  readonly engine: PolicyEngine;
  readonly port: MessagePort;
  readonly counters: Int32Array;
  readonly index: number;
  readonly logger: Logger;
}): PolicyMirror {
  const { engine, port, counters, index, logger } = options;
  let applied: number | undefined;
  let broken = false;

  const apply = (msg: PolicyMessage): void => {
    if (broken) return;
    try {
      if (msg.kind === 'load') {
        engine.load(msg.policies.map(fromPolicyTransfer));
      } else if (applied === undefined) {
        throw new Error('a policy change arrived before the snapshot');
      } else if (msg.seq !== ((applied + 1) | 0)) {
        throw new Error(`policy change ${String(msg.seq)} after ${String(applied)}: one is missing`);
      } else if (msg.kind === 'upsert') {
        engine.upsert(fromPolicyTransfer(msg.policy));
      } else {
        engine.remove(msg.name);
      }
      applied = msg.seq;
    } catch (err) {
      // Never authorize with policies that may differ from the main thread's.
      broken = true;
      logger.error('API thread lost track of the policies; its reads go to the main thread', { err });
    }
  };
  port.on('message', apply);

  return {
    current() {
      const posted = Atomics.load(counters, index);
      while (!broken && (applied === undefined || seqAfter(posted, applied))) {
        const next = receiveMessageOnPort(port);
        if (next === undefined) return false;
        apply(next.message as PolicyMessage);
      }
      return !broken;
    },
    close() {
      port.close();
    },
  };
}
