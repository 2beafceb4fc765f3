/**
 * Thin typed client for the SPIFFE Workload API. Every call carries the
 * `workload.spiffe.io: true` header. Streams are returned as grpc-js readable streams; the
 * watcher with reconnects lives in `x509-source.ts`.
 */
import * as grpc from '@grpc/grpc-js';
import { resolveWorkloadEndpoint } from './endpoint.ts';
import type { WorkloadEndpoint } from './endpoint.ts';
import { loadWorkloadApi, workloadMetadata } from './proto.ts';
import type {
  JwtBundlesResponseMessage,
  JwtSvidRequestMessage,
  JwtSvidResponseMessage,
  ValidateJwtSvidRequestMessage,
  ValidateJwtSvidResponseMessage,
  X509BundlesResponseMessage,
  X509SvidResponseMessage,
} from './proto.ts';
import { structToJson } from './struct.ts';
import type { JsonObject } from './struct.ts';

export interface WorkloadClientOptions {
  /** Endpoint URL; default from `SPIFFE_ENDPOINT_SOCKET`, then SPIRE's default socket. */
  endpoint?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface JwtSvid {
  readonly spiffeId: string;
  /** The JWS compact token. A bearer credential: never log it. */
  readonly token: string;
  readonly hint: string;
}

export interface ValidatedJwtSvid {
  readonly spiffeId: string;
  readonly claims: JsonObject;
}

export interface CallOptions {
  /** Deadline for unary calls, milliseconds (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_UNARY_TIMEOUT_MS = 30_000;
const MAX_AUDIENCES = 32;

/** Channel options: a short reconnect backoff, a private subchannel and a message size cap. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2000,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
};

export class WorkloadApiClient {
  readonly endpoint: WorkloadEndpoint;
  readonly #client: grpc.Client;
  readonly #service: grpc.ServiceDefinition;

  constructor(options: WorkloadClientOptions = {}) {
    this.endpoint = resolveWorkloadEndpoint(options.endpoint, options.env ?? process.env);
    const api = loadWorkloadApi();
    this.#service = api.service;
    this.#client = new grpc.Client(
      this.endpoint.grpcTarget,
      grpc.credentials.createInsecure(),
      CHANNEL_OPTIONS,
    );
  }

  #stream<TResponse>(method: string): grpc.ClientReadableStream<TResponse> {
    const def = this.#method(method);
    return this.#client.makeServerStreamRequest<object, TResponse>(
      def.path,
      def.requestSerialize,
      def.responseDeserialize as (value: Buffer) => TResponse,
      {},
      workloadMetadata(),
    );
  }

  #unary<TRequest, TResponse>(method: string, request: TRequest, timeoutMs: number): Promise<TResponse> {
    const def = this.#method(method);
    return new Promise<TResponse>((resolve, reject) => {
      this.#client.makeUnaryRequest<TRequest, TResponse>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize as (value: Buffer) => TResponse,
        request,
        workloadMetadata(),
        { deadline: Date.now() + timeoutMs },
        (err, value) => {
          if (err !== null) reject(err);
          else if (value === undefined) reject(new Error(`${method}: empty response`));
          else resolve(value);
        },
      );
    });
  }

  #method(name: string): grpc.MethodDefinition<unknown, unknown> {
    const def = this.#service[name];
    if (def === undefined) throw new Error(`Workload API method ${name} is not defined`);
    return def;
  }

  /** `FetchX509SVID`: a stream of complete X.509 states (first message at once, then on change). */
  fetchX509Svid(): grpc.ClientReadableStream<X509SvidResponseMessage> {
    return this.#stream<X509SvidResponseMessage>('FetchX509SVID');
  }

  /** `FetchX509Bundles`: a stream of complete X.509 bundle sets. */
  fetchX509Bundles(): grpc.ClientReadableStream<X509BundlesResponseMessage> {
    return this.#stream<X509BundlesResponseMessage>('FetchX509Bundles');
  }

  /** `FetchJWTBundles`: a stream of JWKS documents keyed by trust domain ID. */
  fetchJwtBundlesStream(): grpc.ClientReadableStream<JwtBundlesResponseMessage> {
    return this.#stream<JwtBundlesResponseMessage>('FetchJWTBundles');
  }

  /** `FetchJWTSVID`: JWT-SVIDs for the audience (first = default identity). */
  async fetchJwtSvids(
    audience: readonly string[],
    spiffeId = '',
    options: CallOptions = {},
  ): Promise<JwtSvid[]> {
    if (audience.length === 0) throw new Error('FetchJWTSVID needs at least one audience');
    if (audience.length > MAX_AUDIENCES)
      throw new Error(`FetchJWTSVID accepts at most ${MAX_AUDIENCES} audiences`);
    const response = await this.#unary<JwtSvidRequestMessage, JwtSvidResponseMessage>(
      'FetchJWTSVID',
      { audience: [...audience], spiffe_id: spiffeId },
      options.timeoutMs ?? DEFAULT_UNARY_TIMEOUT_MS,
    );
    return response.svids.map((s) => ({ spiffeId: s.spiffe_id, token: s.svid, hint: s.hint }));
  }

  /** `ValidateJWTSVID`: asks the agent to validate a token for an audience. */
  async validateJwtSvid(
    token: string,
    audience: string,
    options: CallOptions = {},
  ): Promise<ValidatedJwtSvid> {
    const response = await this.#unary<ValidateJwtSvidRequestMessage, ValidateJwtSvidResponseMessage>(
      'ValidateJWTSVID',
      { audience, svid: token },
      options.timeoutMs ?? DEFAULT_UNARY_TIMEOUT_MS,
    );
    return { spiffeId: response.spiffe_id, claims: structToJson(response.claims) };
  }

  /** Closes the channel; open streams end with CANCELLED. */
  close(): void {
    this.#client.close();
  }
}

/** True when `err` is a gRPC status error (has a numeric `code`). */
export function isGrpcStatusError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number';
}
