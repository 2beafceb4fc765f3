/**
 * What the console needs from Nexus, as types of its own: the person a login proved and the
 * in-process door to the API. Nexus's people listener passes its token validator and its
 * `callAsPerson` in, so every read and change the console makes runs the API's own
 * authorization, validation and audit; the console never reaches the store.
 */
import type { PersonCaller } from '@spike-ts/core';
import type { Action } from '@spike-ts/protocol';

/** A person as the people listener models one (the caller model of `@spike-ts/core`). */
export type ConsolePerson = PersonCaller;

/** What one API call answered: the HTTP status and the parsed JSON body (the wire body). */
export interface CallResult {
  readonly status: number;
  readonly body: unknown;
}

/** Runs one API route as this person through the console door (authorization, validation, audit). */
export type CallAsPerson = (
  caller: ConsolePerson,
  door: 'console',
  path: string,
  action: Action,
  body: unknown,
) => Promise<CallResult>;

/**
 * Validates an access token exactly as the people listener does (issuer, audience, signature,
 * lifetime) and names the person, or throws when the token is not accepted.
 */
export type AuthenticatePerson = (accessToken: string) => Promise<ConsolePerson>;
