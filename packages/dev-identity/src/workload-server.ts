/**
 * The Workload API server for one identity socket. Every caller of the socket gets that
 * identity (the file mode of the socket is the "attestation", see the dev issuer docs).
 */
import * as grpc from '@grpc/grpc-js';
import { parseSpiffeId } from '@spike-ts/identity';
import type { IdentityLogger } from '@spike-ts/identity';
import { loadWorkloadApi, SECURITY_HEADER_MISSING, WORKLOAD_SECURITY_HEADER } from '@spike-ts/identity';
import type {
  JwtBundlesResponseMessage,
  JwtSvidRequestMessage,
  JwtSvidResponseMessage,
  ValidateJwtSvidRequestMessage,
  ValidateJwtSvidResponseMessage,
} from '@spike-ts/identity';
import { jsonToStruct } from '@spike-ts/identity';
import type { ResolvedIdentity } from './config.ts';
import type { JwtAuthority } from './jwt-authority.ts';
import type { SvidAuthority } from './svid-authority.ts';

const MAX_AUDIENCES = 32;
const MAX_AUDIENCE_BYTES = 2048;
const MAX_REQUEST_BYTES = 64 * 1024;

export interface WorkloadServerDeps {
  identity: ResolvedIdentity;
  svids: SvidAuthority;
  jwt: JwtAuthority;
  jwtTtlMs: number;
  trustDomain: string;
  log: IdentityLogger;
}

export interface IdentityServer {
  readonly server: grpc.Server;
  /** Ends every open stream (clients see a clean end and reconnect). */
  endStreams(): void;
}

interface StatusError {
  code: grpc.status;
  details: string;
}

function statusError(code: grpc.status, details: string): StatusError & Error {
  return Object.assign(new Error(details), { code, details });
}

function hasSecurityHeader(metadata: grpc.Metadata): boolean {
  const values = metadata.get(WORKLOAD_SECURITY_HEADER);
  return values.length === 1 && values[0] === 'true';
}

export function createIdentityServer(deps: WorkloadServerDeps): IdentityServer {
  const { identity, svids, jwt, log } = deps;
  const api = loadWorkloadApi();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_concurrent_streams': 256,
  });
  const openStreams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  const tdKey = `spiffe://${deps.trustDomain}`;

  const stream =
    <TResponse>(name: string, build: () => TResponse, subscribe: (push: () => void) => Array<() => void>) =>
    (call: grpc.ServerWritableStream<unknown, TResponse>): void => {
      if (!hasSecurityHeader(call.metadata)) {
        call.emit('error', statusError(grpc.status.INVALID_ARGUMENT, SECURITY_HEADER_MISSING));
        return;
      }
      const push = (): void => {
        if (call.cancelled || call.writableEnded) return;
        try {
          call.write(build());
        } catch (err) {
          log.error(`${name}: could not send an update`, { err, identity: identity.name });
        }
      };
      const unsubscribe = subscribe(push);
      openStreams.add(call);
      const cleanup = (): void => {
        for (const u of unsubscribe) u();
        openStreams.delete(call);
      };
      call.on('cancelled', cleanup);
      call.on('close', cleanup);
      call.on('finish', cleanup);
      push();
    };

  const handlers: grpc.UntypedServiceImplementation = {
    FetchX509SVID: stream(
      'FetchX509SVID',
      () => svids.x509SvidResponse(identity.name),
      (push) => [svids.onSvidChange(identity.name, push), svids.onBundleChange(push)],
    ),
    FetchX509Bundles: stream(
      'FetchX509Bundles',
      () => svids.x509BundlesResponse(),
      (push) => [svids.onBundleChange(push)],
    ),
    FetchJWTBundles: stream(
      'FetchJWTBundles',
      (): JwtBundlesResponseMessage => ({ bundles: { [tdKey]: Buffer.from(JSON.stringify(jwt.jwks())) } }),
      () => [],
    ),
    FetchJWTSVID: (
      call: grpc.ServerUnaryCall<JwtSvidRequestMessage, JwtSvidResponseMessage>,
      callback: grpc.sendUnaryData<JwtSvidResponseMessage>,
    ): void => {
      if (!hasSecurityHeader(call.metadata))
        return callback(statusError(grpc.status.INVALID_ARGUMENT, SECURITY_HEADER_MISSING));
      const { audience, spiffe_id: filter } = call.request;
      if (audience.length === 0)
        return callback(statusError(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
      if (
        audience.length > MAX_AUDIENCES ||
        audience.some((a) => a === '' || Buffer.byteLength(a) > MAX_AUDIENCE_BYTES)
      ) {
        return callback(
          statusError(grpc.status.INVALID_ARGUMENT, 'audience values must be non-empty and short'),
        );
      }
      if (filter !== '') {
        try {
          parseSpiffeId(filter);
        } catch (err) {
          return callback(
            statusError(
              grpc.status.INVALID_ARGUMENT,
              `invalid requested SPIFFE ID: ${(err as Error).message}`,
            ),
          );
        }
        if (filter !== identity.spiffeId)
          return callback(statusError(grpc.status.PERMISSION_DENIED, 'no identity issued'));
      }
      jwt.mint(identity.spiffeId, audience, deps.jwtTtlMs).then(
        (token) => callback(null, { svids: [{ spiffe_id: identity.spiffeId, svid: token, hint: '' }] }),
        (err: unknown) => {
          log.error('could not mint a JWT-SVID', { err, identity: identity.name });
          callback(statusError(grpc.status.INTERNAL, 'could not mint a JWT-SVID'));
        },
      );
    },
    ValidateJWTSVID: (
      call: grpc.ServerUnaryCall<ValidateJwtSvidRequestMessage, ValidateJwtSvidResponseMessage>,
      callback: grpc.sendUnaryData<ValidateJwtSvidResponseMessage>,
    ): void => {
      if (!hasSecurityHeader(call.metadata))
        return callback(statusError(grpc.status.INVALID_ARGUMENT, SECURITY_HEADER_MISSING));
      const { audience, svid } = call.request;
      if (audience === '')
        return callback(statusError(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
      if (svid === '') return callback(statusError(grpc.status.INVALID_ARGUMENT, 'svid must be specified'));
      jwt.validate(svid, audience).then(
        ({ spiffeId, claims }) => callback(null, { spiffe_id: spiffeId, claims: jsonToStruct(claims) }),
        (err: unknown) => callback(statusError(grpc.status.INVALID_ARGUMENT, (err as Error).message)),
      );
    },
    FetchWITSVID: (call: grpc.ServerWritableStream<unknown, unknown>): void => {
      call.emit(
        'error',
        statusError(grpc.status.UNIMPLEMENTED, 'WIT-SVIDs are not supported by the dev identity issuer'),
      );
    },
    FetchWITBundles: (call: grpc.ServerWritableStream<unknown, unknown>): void => {
      call.emit(
        'error',
        statusError(grpc.status.UNIMPLEMENTED, 'WIT bundles are not supported by the dev identity issuer'),
      );
    },
  };
  server.addService(api.service, handlers);

  return {
    server,
    endStreams(): void {
      for (const call of [...openStreams]) {
        openStreams.delete(call);
        if (!call.cancelled && !call.writableEnded) call.end();
      }
    },
  };
}
