/**
 * Request metrics of one thread: requests by route, action, status and caller role, their
 * latency by route and action, and the authorization decisions. One meter per route of the route
 * table is bound at start and every label set below it on first use, so recording a request is
 * a few lookups in small maps and additions. Labels never carry a request's path: a target that
 * names no route of the table is the one route `unknown` (action `unknown`).
 */
import { AUTHORIZATION, REQUEST_DURATION, REQUESTS } from './catalog.ts';
import { CALLER_ROLES, type CallerRoleOf } from './caller-role.ts';
import { CellCounter, CellHistogram, counterJson, histogramJson, type MetricJson } from './cells.ts';

/** What the audit record says about authorization: `none` = rejected before it was evaluated. */
export type Decision = 'allowed' | 'denied' | 'none';

/** The route and action a meter counts under (a route spec of the table). */
export interface RouteTarget {
  readonly path: string;
  readonly action: string;
}

export interface RouteMeter {
  /**
   * One answered request: its caller's role (`roleOf`), status, decision and the time the
   * handler took (undefined: it never reached the handler, e.g. refused by the rate limits).
   */
  finish(role: number, status: number, decision: Decision, seconds: number | undefined): void;
}

export interface RequestMetrics {
  /** The meter of a route of the table; anything else counts as route `unknown`. */
  meter(route: RouteTarget | undefined): RouteMeter;
  /** The role label index of a caller (undefined: no accepted identity). */
  readonly roleOf: CallerRoleOf;
  /** This thread's request metrics as prom-client metric JSON. */
  json(): MetricJson[];
}

export const UNKNOWN_ROUTE = 'unknown';
/** The label of SPIKE's default action (no `?action=`). */
export const DEFAULT_ACTION = 'default';

class Meter implements RouteMeter {
  readonly #route: string;
  readonly #action: string;
  /** Per role: a counter per status. */
  readonly requests: Map<number, CellCounter>[] = CALLER_ROLES.map(() => new Map<number, CellCounter>());
  /** Per role: [allowed, denied]. */
  readonly decisions: (CellCounter | undefined)[] = new Array<CellCounter | undefined>(
    CALLER_ROLES.length * 2,
  );
  readonly duration: CellHistogram;

  constructor(route: string, action: string) {
    this.#route = route;
    this.#action = action;
    this.duration = new CellHistogram(REQUEST_DURATION.buckets ?? [], { route, action });
  }

  finish(role: number, status: number, decision: Decision, seconds: number | undefined): void {
    const byStatus = this.requests[role];
    if (byStatus === undefined) return;
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = new CellCounter({
        route: this.#route,
        action: this.#action,
        status: String(status),
        role: CALLER_ROLES[role] as string,
      });
      byStatus.set(status, cell);
    }
    cell.value += 1;
    if (decision !== 'none') {
      const slot = role * 2 + (decision === 'allowed' ? 0 : 1);
      let d = this.decisions[slot];
      if (d === undefined) {
        d = new CellCounter({
          route: this.#route,
          action: this.#action,
          decision,
          role: CALLER_ROLES[role] as string,
        });
        this.decisions[slot] = d;
      }
      d.value += 1;
    }
    if (seconds !== undefined) this.duration.observe(seconds);
  }
}

/** Request metrics over `routes` (the route table's Nexus specs). */
export function createRequestMetrics(routes: readonly RouteTarget[], roleOf: CallerRoleOf): RequestMetrics {
  const byRoute = new Map<RouteTarget, Meter>();
  const byKey = new Map<string, Meter>();
  const meters: Meter[] = [];
  for (const route of routes) {
    const key = `${route.action} ${route.path}`;
    let meter = byKey.get(key);
    if (meter === undefined) {
      meter = new Meter(route.path, route.action === '' ? DEFAULT_ACTION : route.action);
      byKey.set(key, meter);
      meters.push(meter);
    }
    byRoute.set(route, meter);
  }
  const unknown = new Meter(UNKNOWN_ROUTE, UNKNOWN_ROUTE);
  meters.push(unknown);

  return {
    roleOf,
    meter(route) {
      if (route === undefined) return unknown;
      return byRoute.get(route) ?? byKey.get(`${route.action} ${route.path}`) ?? unknown;
    },
    json() {
      return [
        counterJson(
          REQUESTS,
          meters.flatMap((m) => m.requests.flatMap((byStatus) => [...byStatus.values()])),
        ),
        histogramJson(
          REQUEST_DURATION,
          meters.map((m) => m.duration),
        ),
        counterJson(
          AUTHORIZATION,
          meters.flatMap((m) => m.decisions.filter((d): d is CellCounter => d !== undefined)),
        ),
      ];
    },
  };
}
