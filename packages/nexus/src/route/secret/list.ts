/** `POST /v1/store/secrets?action=list` — every secret path, sorted (as SPIKE does). */
import {
  ACTION_LIST,
  decodeSecretListRequest,
  URL_SECRETS,
  type SecretListRequest,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretListRoute(deps: RouteDeps): Route {
  return jsonRoute<SecretListRequest>({
    path: URL_SECRETS,
    action: ACTION_LIST,
    name: 'secret.list',
    errorBody: { keys: null },
    decode: decodeSecretListRequest,
    subject: () => ({}),
    authorize: (peerId) => deps.authz.secretList(peerId),
    validate: (req) => req,
    async handle() {
      const keys = await deps.store.listSecretPaths();
      return { keys: [...keys].sort(compareStrings) };
    },
  });
}

/** Byte-order comparison (Go's `sort.Strings`), not locale order. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
