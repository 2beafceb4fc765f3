/**
 * The named-key routes under `/v1/keys` (ours; ADR 0039): create, list, public view, rotate,
 * retire, sign, verify, decrypt. Authorization runs on the key name the request gives, before
 * any lookup; no route returns a private key.
 */
import {
  KEY_CREATE,
  KEY_DECRYPT,
  KEY_LIST,
  KEY_PUBLIC,
  KEY_RETIRE,
  KEY_ROTATE,
  KEY_SIGN,
  KEY_VERIFY,
  validateKeyAlgorithm,
  validateKeyName,
} from '@spike-ts/protocol';
import { zeroize } from '@spike-ts/core';
import { KeyService } from '../../keys/key-service.ts';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

const services = new WeakMap<RouteDeps, KeyService>();

/** One key service per set of route dependencies (built on first use). */
function keys(deps: RouteDeps): KeyService {
  let s = services.get(deps);
  if (s === undefined) {
    s = new KeyService({
      store: deps.store,
      now: deps.now,
      maxPayload: deps.config.maxCipherSize,
      approvals: deps.approvals.keyHook(),
    });
    services.set(deps, s);
  }
  return s;
}

const named = <T extends { name: string }>(req: T): T => ({ ...req, name: validateKeyName(req.name) });

export function keyRoutes(deps: RouteDeps): Route[] {
  return [
    jsonRoute(KEY_CREATE, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) => deps.authz.key(peerId, 'write', req.name),
      validate: (req) => ({ ...named(req), algorithm: validateKeyAlgorithm(req.algorithm) }),
      async handle(req) {
        const algorithm = validateKeyAlgorithm(req.algorithm);
        const version = await keys(deps).create(req.name, algorithm, req.userId);
        return { name: req.name, algorithm, version };
      },
    }),
    jsonRoute(KEY_LIST, {
      subject: () => ({}),
      authorize: (peerId) => deps.authz.keyList(peerId),
      validate: (req) => req,
      async handle() {
        return { keys: await keys(deps).list() };
      },
    }),
    jsonRoute(KEY_PUBLIC, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) =>
        deps.authz.key(peerId, 'read', req.name) || deps.authz.key(peerId, 'verify', req.name),
      validate: named,
      handle: (req) => keys(deps).describe(req.name),
    }),
    jsonRoute(KEY_ROTATE, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) => deps.authz.key(peerId, 'write', req.name),
      validate: named,
      async handle(req) {
        return { version: await keys(deps).rotate(req.name) };
      },
    }),
    jsonRoute(KEY_RETIRE, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) => deps.authz.key(peerId, 'write', req.name),
      validate: named,
      async handle(req) {
        await keys(deps).retire(req.name, req.versions);
        return {};
      },
    }),
    jsonRoute(KEY_SIGN, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) => deps.authz.key(peerId, 'sign', req.name),
      validate: named,
      handle: (req, ctx) => keys(deps).sign(ctx.peerId, req.name, req.message, ctx.note),
      dispose: (req) => zeroize(req.message),
    }),
    jsonRoute(KEY_VERIFY, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) => deps.authz.key(peerId, 'verify', req.name),
      validate: named,
      handle: (req) => keys(deps).verify(req.name, req.message, req.signature),
    }),
    jsonRoute(KEY_DECRYPT, {
      subject: (req) => ({ path: req.name }),
      authorize: (peerId, req) => deps.authz.key(peerId, 'decrypt', req.name),
      validate: named,
      async handle(req, ctx) {
        const { version, plaintext } = await keys(deps).decrypt(
          ctx.peerId,
          req.name,
          req.ciphertext,
          ctx.note,
        );
        try {
          return { version, plaintext: Buffer.from(plaintext).toString('base64') };
        } finally {
          zeroize(plaintext);
        }
      },
    }),
  ];
}
