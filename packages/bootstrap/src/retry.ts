/**
 * Capped exponential backoff with an attempt limit and a deadline, the retry shape SPIKE's
 * bootstrap uses (cenkalti/backoff: initial interval, doubling, capped).
 */
export interface RetryPolicy {
  /** Total attempts, at least 1 (Infinity = until the deadline). */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Epoch ms after which no new attempt starts (Infinity = none). */
  readonly deadline: number;
}

export type Attempt<T> = { done: true; value: T } | { done: false; error: Error };

export interface RetryHooks {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait with the failure that caused it. */
  onRetry?: (attempt: number, error: Error, delayMs: number) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `attempt` until it reports done, it throws (a permanent failure: rethrown as is), the
 * attempts are used up or the deadline passes. Returns the last transient error on give-up.
 */
export async function retryWithBackoff<T>(
  policy: RetryPolicy,
  attempt: (remainingMs: number) => Promise<Attempt<T>>,
  hooks: RetryHooks = {},
): Promise<Attempt<T>> {
  const now = hooks.now ?? Date.now;
  const wait = hooks.sleep ?? sleep;
  let delay = policy.initialDelayMs;
  let last: Attempt<T> = { done: false, error: new Error('no attempt was made') };
  for (let n = 1; n <= policy.maxAttempts; n++) {
    const remaining = policy.deadline - now();
    if (remaining <= 0) break;
    last = await attempt(remaining);
    if (last.done || n === policy.maxAttempts) break;
    const pause = Math.min(delay, Math.max(0, policy.deadline - now()));
    if (pause <= 0) break;
    hooks.onRetry?.(n, last.error, pause);
    await wait(pause);
    delay = Math.min(delay * 2, policy.maxDelayMs);
  }
  return last;
}
