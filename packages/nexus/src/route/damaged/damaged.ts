/**
 * `POST /v1/operator/damaged?action=list|delete` (our addition; SPIKE has no such route, so its
 * clients never see it): list the store's damaged rows, and remove one on explicit request. The
 * Pilot superuser only. Names of damaged rows (when the store can tell them) are confidential
 * metadata: they go here and to the log, never to the unauthenticated health listener.
 */
import { BadRequestError, DAMAGED_DELETE, DAMAGED_LIST } from '@spike-ts/protocol';
import { NotFoundError, type DamagedRow, type DamagedTable } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

const ID_HEX = /^[0-9a-f]{64}$/;

/**
 * The additive `damagedNames` field of the secret and policy lists: the names of the damaged rows
 * that could be told (sorted), for a caller already allowed to list every name. Empty: no field.
 */
export function damagedNames(rows: readonly DamagedRow[]): { damagedNames?: string[] } {
  const names = rows.flatMap((r) => (r.name === undefined ? [] : [r.name]));
  return names.length === 0 ? {} : { damagedNames: names.sort() };
}

export function damagedListRoute(deps: RouteDeps): Route {
  return jsonRoute(DAMAGED_LIST, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.damagedRows(peerId),
    validate: (req) => req,
    async handle() {
      const rows = await deps.store.listDamagedRows();
      deps.state.recordDamage(rows);
      return {
        rows: rows.map((r) => ({
          table: r.table,
          id: r.id,
          ...(r.version === undefined ? {} : { version: r.version }),
          kind: r.kind,
          ...(r.name === undefined ? {} : { name: r.name }),
        })),
      };
    },
  });
}

export function damagedRemoveRoute(deps: RouteDeps): Route {
  return jsonRoute(DAMAGED_DELETE, {
    subject: (req) => ({
      row: `${req.table}/${req.id}${req.version === undefined || req.version === 0 ? '' : `/${String(req.version)}`}`,
    }),
    authorize: (peerId) => deps.authz.damagedRows(peerId),
    validate(req) {
      if (req.table !== 'policies' && req.table !== 'secrets' && req.table !== 'secret_versions') {
        throw new BadRequestError("table: must be 'policies', 'secrets' or 'secret_versions'");
      }
      if (!ID_HEX.test(req.id)) throw new BadRequestError('id: must be 64 lower-case hex digits');
      const version = req.version ?? 0;
      if (req.table === 'secret_versions' && version < 1) {
        throw new BadRequestError('version: a secret_versions row needs its version (from 1)');
      }
      if (req.table !== 'secret_versions' && version !== 0) {
        throw new BadRequestError(`version: a ${req.table} row has no version`);
      }
      return req;
    },
    async handle(req, ctx) {
      const table = req.table as DamagedTable;
      const version = table === 'secret_versions' ? req.version : undefined;
      // A row that opens is not damaged and is never removed here (the store checks again).
      const removed = await deps.store.removeDamagedRow(table, req.id, version);
      if (!removed) throw new NotFoundError('no damaged row at this place');
      ctx.logger.warn('damaged row removed by the operator', {
        table,
        id: req.id,
        ...(version === undefined ? {} : { version }),
        caller: ctx.peerId,
      });
      deps.state.recordDamage(await deps.store.listDamagedRows());
      return {};
    },
  });
}
