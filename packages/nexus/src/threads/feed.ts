/**
 * An ordered feed from the main thread to API threads that a worker can catch up with
 * synchronously: used for policy changes (`policy-feed.ts`) and for the secrets each commit
 * changed (the workers' read caches).
 *
 * The main thread posts each message to every subscriber's `MessagePort` and only then sets a
 * shared counter to the message's sequence number. A worker's mirror applies messages as they
 * arrive and, whenever it is asked whether it is current (before every read it serves), takes
 * synchronously (`receiveMessageOnPort`) every message the counter says was posted. So whatever
 * the main thread acknowledged before a request arrived is applied before the worker answers it.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Logger } from '@spike-ts/core';
import type { PeerChangeTarget } from '@spike-ts/store';

/** On a feed port. The first message starts a mirror; each later one has the next number. */
export interface FeedMessage<M> {
  /** Int32, wrapping. */
  readonly seq: number;
  readonly body: M;
}

/** `a` comes after `b` in Int32 sequence numbers that wrap. */
function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export interface Feed<M> {
  /** Posts `start` (a full snapshot of the state the messages change) to `port`, then every message. */
  subscribe(port: MessagePort, start: M): void;
  unsubscribe(port: MessagePort): void;
  /** Posts `body` to every subscriber, then announces it on the shared counter. */
  publish(body: M): void;
}

/** `counters[index]` holds the sequence number of the last message posted. */
export function createFeed<M>(counters: Int32Array, index: number): Feed<M> {
  const ports = new Set<MessagePort>();
  return {
    subscribe(port, start) {
      const message: FeedMessage<M> = { seq: Atomics.load(counters, index), body: start };
      port.postMessage(message);
      ports.add(port);
    },
    unsubscribe(port) {
      ports.delete(port);
    },
    publish(body) {
      const message: FeedMessage<M> = { seq: (Atomics.load(counters, index) + 1) | 0, body };
      for (const port of ports) port.postMessage(message);
      // Only once every subscriber's queue holds the message: a worker that reads this value
      // can take the message at once.
      Atomics.store(counters, index, message.seq);
    },
  };
}

export interface Mirror {
  /**
   * Applies every message posted so far; false when the mirror cannot vouch for its state (no
   * start message yet, or a message was lost or could not be applied; the latter is final).
   */
  current(): boolean;
  close(): void;
}

export interface MirrorOptions<M> {
  readonly port: MessagePort;
  readonly counters: Int32Array;
  readonly index: number;
  readonly logger: Logger;
  /** Named in the log when the mirror loses track. */
  readonly what: string;
  /** Applies the start message (a full snapshot). */
  start(body: M): void;
  /** Applies a later message; called in order, each exactly once. */
  apply(body: M): void;
}

export function createMirror<M>(options: MirrorOptions<M>): Mirror {
  const { port, counters, index } = options;
  let applied: number | undefined;
  let broken = false;

  const take = (message: FeedMessage<M>): void => {
    if (broken) return;
    try {
      if (applied === undefined) {
        options.start(message.body);
      } else if (message.seq !== ((applied + 1) | 0)) {
        throw new Error(`message ${String(message.seq)} after ${String(applied)}: one is missing`);
      } else {
        options.apply(message.body);
      }
      applied = message.seq;
    } catch (err) {
      broken = true;
      options.logger.error(`API thread lost track of ${options.what}`, { err });
    }
  };
  port.on('message', take);

  return {
    current() {
      const posted = Atomics.load(counters, index);
      while (!broken && (applied === undefined || seqAfter(posted, applied))) {
        const next = receiveMessageOnPort(port);
        if (next === undefined) return false;
        take(next.message as FeedMessage<M>);
      }
      return !broken;
    },
    close() {
      port.close();
    },
  };
}

/**
 * For a worker's SQLite store (`peerChanges`): a read cache that follows the main thread's commit
 * feed, dropping the secrets each commit changed before every read; everything while the feed
 * cannot be followed (then the cache is bypassed, never stale).
 */
export function followCommits(options: {
  readonly port: MessagePort;
  readonly counters: Int32Array;
  readonly index: number;
  readonly logger: Logger;
  /** Receives the mirror, to close it when the worker stops. */
  readonly onMirror?: (mirror: Mirror) => void;
}): (cache: PeerChangeTarget) => () => void {
  return (cache) => {
    const mirror = createMirror<readonly string[]>({
      ...options,
      what: 'the commits; its read cache is bypassed',
      start: () => cache.dropAll(),
      apply: (paths) => {
        for (const path of paths) cache.drop(path);
      },
    });
    options.onMirror?.(mirror);
    return () => {
      if (!mirror.current()) cache.dropAll();
    };
  };
}
