/**
 * The web console of the people listener: server-rendered HTML forms, no client-side script,
 * OIDC login (code flow with PKCE) and server-side sessions. It reads and changes nothing by
 * itself: every action is an API call made as the logged-in person through Nexus's in-process
 * console door (ADR 0038).
 */
export {
  createConsole,
  consoleUrls,
  SECURITY_HEADERS,
  SESSION_COOKIE,
  LOGIN_COOKIE,
  MAX_FORM_BYTES,
  type Console,
  type ConsoleOptions,
} from './handler.ts';
export {
  createOidcRelyingParty,
  isLoopbackHttp,
  type OidcOptions,
  type OidcRelyingParty,
  type LoginChecks,
} from './oidc.ts';
export { SessionTable, DEFAULT_SESSION_LIMITS, type SessionLimits, type SessionTokens } from './session.ts';
export { escapeHtml, markup, SafeHtml } from './html.ts';
export type { AuthenticatePerson, CallAsPerson, CallResult, ConsolePerson } from './port.ts';
