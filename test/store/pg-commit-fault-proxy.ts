/**
 * A loopback TCP proxy in front of a PostgreSQL unix socket that can lose the answer to a COMMIT:
 * armed, it lets the next COMMIT through to the server, waits for the server's "COMMIT done"
 * answer and then cuts the client's connection instead of passing that answer on. The change is
 * really committed; the client only sees its connection break after sending COMMIT. That is the
 * fault behind 500 `api_outcome_unknown` (ADR 0032), produced with a real server rather than a
 * mock. Only simple-protocol `COMMIT` messages are recognized (what the store sends).
 */
import net from 'node:net';

/** Simple query message "COMMIT": 'Q', int32 length 11, "COMMIT\0". */
const COMMIT_QUERY = Buffer.concat([Buffer.from('Q'), Buffer.from([0, 0, 0, 11]), Buffer.from('COMMIT\0')]);
/** CommandComplete "COMMIT": 'C', int32 length 11, "COMMIT\0". */
const COMMIT_DONE = Buffer.concat([Buffer.from('C'), Buffer.from([0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

export interface CommitFaultProxy {
  readonly port: number;
  /** Loses the answer of the next COMMIT; resolves once it was lost (the commit happened). */
  loseNextCommitAnswer(): Promise<void>;
  /** Cuts every connection and refuses new ones (the database is unreachable) until `resume`. */
  cut(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startCommitFaultProxy(socketPath: string): Promise<CommitFaultProxy> {
  let armed: (() => void) | undefined;
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(socketPath);
    sockets.add(client);
    sockets.add(upstream);
    let watching: (() => void) | undefined;
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      if (armed !== undefined && watching === undefined && chunk.includes(COMMIT_QUERY)) {
        watching = armed;
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (watching !== undefined && chunk.includes(COMMIT_DONE)) {
        const done = watching;
        watching = undefined;
        end();
        done();
        return;
      }
      client.write(chunk);
    });
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    loseNextCommitAnswer() {
      return new Promise<void>((resolve) => {
        armed = resolve;
      });
    },
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    resume() {
      down = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
