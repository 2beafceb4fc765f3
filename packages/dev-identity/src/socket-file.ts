/**
 * Unix socket housekeeping for the dev issuer: stale socket removal, binding a grpc-js server,
 * and the file mode / ownership that stands in for attestation.
 */
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs';
import net from 'node:net';

/** True if something accepts connections on the unix socket at `file`. */
function isListening(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    const done = (listening: boolean): void => {
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(listening);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(2000, () => done(false));
  });
}

/**
 * Makes `file` free to bind: removes a stale socket left by a crashed issuer, and refuses when
 * another process still serves it or when the path holds something other than a socket.
 */
export async function clearStaleSocket(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket())
    throw new Error(`${file} exists and is not a unix socket; remove it or choose another --socket-dir`);
  if (await isListening(file)) {
    throw new Error(`${file} is in use by another process (is another spike-dev-identity running?)`);
  }
  fs.rmSync(file, { force: true });
}

/** Binds `server` to the unix socket `file`. */
export function bindUnixSocket(server: grpc.Server, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`unix://${file}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err !== null) reject(new Error(`cannot listen on ${file}: ${err.message}`));
      else resolve();
    });
  });
}

/** Socket mode 0600; hands it to `uid`/`gid` when running as root and they are given. */
export function secureSocket(file: string, owner: { uid?: number; gid?: number }): void {
  fs.chmodSync(file, 0o600);
  if (process.getuid?.() === 0 && (owner.uid !== undefined || owner.gid !== undefined)) {
    fs.chownSync(file, owner.uid ?? -1, owner.gid ?? -1);
  }
}

/** Whether sockets will be handed to other users (root with uid/gid configured). */
export function willChown(identities: ReadonlyArray<{ uid?: number; gid?: number }>): boolean {
  return process.getuid?.() === 0 && identities.some((i) => i.uid !== undefined || i.gid !== undefined);
}
