/**
 * @module cli-io
 * Everything the CLI touches outside itself, passed in so commands can be run in-process by tests:
 * environment, the three standard streams, the SVID source and the SDK client factory.
 */
import type { X509Source } from '@spike-ts/identity/client';
import type { SpikeClient } from '@spike-ts/sdk';

export interface OutputStream {
  write(chunk: string | Uint8Array): unknown;
}

export interface InputStream extends AsyncIterable<Buffer | string> {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on?(event: 'data' | 'end', listener: (chunk?: Buffer | string) => void): unknown;
  off?(event: 'data' | 'end', listener: (chunk?: Buffer | string) => void): unknown;
  resume?(): unknown;
  pause?(): unknown;
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: InputStream;
  /** Obtain this CLI's SVID source (the Workload API in production). */
  openSource(opts: { timeoutMs?: number }): Promise<X509Source>;
  /** Load what openSource/openClient need ahead of time (so a probe's timeout measures only the network). */
  preload?(): Promise<void>;
  /** Create the SDK client over an SVID source. */
  openClient(source: X509Source, opts: { timeoutMs?: number }): Promise<SpikeClient>;
}
