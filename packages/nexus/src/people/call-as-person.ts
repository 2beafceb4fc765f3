/**
 * The in-process door of the web console (ADR 0035): a request on behalf of a person the console
 * has logged in, run through the very same pipeline as an HTTP request (route match, gates,
 * body limit, decode, authorization, validation, audit with door `console`). The request and
 * response are real `node:http` objects over an in-memory socket, so no route can tell the
 * difference and none needs a second code path.
 */
import { IncomingMessage, ServerResponse, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Action } from '@spike-ts/protocol';
import type { Caller, Door, PersonCaller } from '@spike-ts/core';
import type { RequestHandlerOptions } from '../http/router.ts';

export interface PersonCallResult {
  readonly status: number;
  /** The JSON body (parsed), or the bytes of an `application/octet-stream` answer. */
  readonly body: unknown;
}

/** `callAsPerson(caller, 'console', path, action, body)`. */
export type CallAsPerson = (
  caller: PersonCaller,
  door: 'console',
  path: string,
  action: Action,
  body: unknown,
) => Promise<PersonCallResult>;

const HEADER_END = Buffer.from('\r\n\r\n');

/** Splits the bytes Node wrote for one response (always with Content-Length) into its parts. */
function parseResponse(raw: Buffer): { status: number; contentType: string; body: Buffer } {
  const end = raw.indexOf(HEADER_END);
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const body = end < 0 ? Buffer.alloc(0) : raw.subarray(end + HEADER_END.length);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  let contentType = '';
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === 'content-type')
      contentType = line.slice(colon + 1).trim();
  }
  return { status, contentType, body };
}

export function createCallAsPerson(
  handlerFor: (door: Pick<RequestHandlerOptions, 'door' | 'person'>) => RequestListener,
): CallAsPerson {
  const callers = new WeakMap<IncomingMessage, Caller>();
  const handler = handlerFor({
    door: 'console',
    person: { callerOf: (req) => callers.get(req), refusalOf: () => 'no_console_session' },
  });
  return (caller, door: Door, path, action, body) => {
    if (door !== 'console') return Promise.reject(new Error('callAsPerson serves the console door only'));
    if (caller.kind !== 'person') return Promise.reject(new Error('callAsPerson needs a person'));
    return new Promise<PersonCallResult>((resolve, reject) => {
      const written: Buffer[] = [];
      const socket = new Duplex({
        read() {},
        write(chunk: Buffer | string, _encoding, callback) {
          written.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
          callback();
        },
      });
      const req = new IncomingMessage(socket as unknown as Socket);
      req.method = 'POST';
      req.url = action === '' ? path : `${path}?action=${encodeURIComponent(action)}`;
      req.headers = { 'content-type': 'application/json' };
      req.push(Buffer.from(JSON.stringify(body ?? {}), 'utf8'));
      req.push(null);
      // The whole body is there (the HTTP parser would say so); an incomplete request is aborted.
      req.complete = true;
      callers.set(req, caller);
      const res = new ServerResponse(req);
      res.assignSocket(socket as unknown as Socket);
      // With `Connection: close` the socket may close before 'finish' is emitted: either settles.
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (!res.writableFinished) {
          reject(new Error('the request ended without an answer'));
          return;
        }
        const parsed = parseResponse(Buffer.concat(written));
        if (parsed.contentType.startsWith('application/json')) {
          try {
            resolve({ status: parsed.status, body: JSON.parse(parsed.body.toString('utf8')) as unknown });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
          return;
        }
        resolve({ status: parsed.status, body: new Uint8Array(parsed.body) });
      };
      res.once('finish', settle);
      res.once('close', settle);
      handler(req, res);
    });
  };
}
