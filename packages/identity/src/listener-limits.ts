/**
 * Connection limits shared by every HTTP(S) listener of the servers (Nexus API and health,
 * keeper): how often Node checks its header and request timeouts, how many connections a
 * listener holds at once, and (mTLS) how many connections one verified caller holds at once.
 *
 * Node cuts a connection whose request headers (`headersTimeout`) or whole request
 * (`requestTimeout`) take too long, counted from the connection being ready (after the TLS
 * handshake) until the first request starts and from its first byte after that, so a connection
 * that never sends a byte is cut by the header timeout too (as with Go's `ReadHeaderTimeout`).
 * But Node only looks every `connectionsCheckingInterval`, 30 s by default: a 10 s header timeout
 * fired after up to 40 s. We look often enough that each timeout holds to within a second.
 */
import type net from 'node:net';

/** Node's `connectionsCheckingInterval` for these timeouts: a quarter of the shortest, 50 ms..1 s. */
export function timeoutCheckIntervalMs(...timeoutsMs: readonly number[]): number {
  const shortest = Math.min(...timeoutsMs.filter((t) => t > 0), 4000);
  return Math.min(1000, Math.max(50, Math.floor(shortest / 4)));
}

/** Counts the open connections of each verified caller and refuses those above the cap. */
export interface PeerConnectionLimit {
  /**
   * Counts `socket` for `peerId` until it closes. False (and nothing counted) when the caller
   * already holds the maximum: the caller must then close the socket.
   */
  admit(socket: net.Socket, peerId: string): boolean;
  /** Open connections counted for `peerId` (tests, diagnostics). */
  count(peerId: string): number;
}

/**
 * A per-caller connection cap. `max` 0 = no cap. Memory is one map entry per caller that holds a
 * connection right now (entries go when their last connection closes).
 */
export function createPeerConnectionLimit(max: number): PeerConnectionLimit {
  const open = new Map<string, number>();
  return {
    admit(socket, peerId) {
      if (max <= 0) return true;
      const held = open.get(peerId) ?? 0;
      if (held >= max) return false;
      open.set(peerId, held + 1);
      socket.once('close', () => {
        const n = (open.get(peerId) ?? 1) - 1;
        if (n <= 0) open.delete(peerId);
        else open.set(peerId, n);
      });
      return true;
    },
    count(peerId) {
      return open.get(peerId) ?? 0;
    },
  };
}

/**
 * Caps the connections `server` holds at once (0 = no cap). Connections above the cap are closed
 * as soon as they are accepted, so a flood cannot use up the process's file descriptors.
 */
export function capConnections(server: net.Server, max: number): void {
  if (max > 0) server.maxConnections = max;
}
