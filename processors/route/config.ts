/**
 * Config of the `route` processor: which path to template, user routes and regex patterns (per API and
 * global), the per-API cap on distinct routes, and the bounds that keep adversarial paths cheap.
 */
import { z } from 'zod';
import { duration, positiveInt } from '../../src/config/schema.js';

/** A `{param}` segment of a route. */
const PARAM_SEGMENT = /^\{[^{}/]*\}$/;

/** Why a route template is invalid, or undefined when it is valid. */
export function routeProblem(route: string): string | undefined {
  if (!route.startsWith('/')) return 'must start with /';
  const segments = route.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === '*') {
      if (i !== segments.length - 1) return 'may use * only as its last segment';
      continue;
    }
    if ((s.includes('{') || s.includes('}')) && !PARAM_SEGMENT.test(s)) return 'must use {param} only as a whole segment (e.g. /orders/{id})';
  }
  return undefined;
}

const ROUTE_HELP = 'must be a route such as /orders/{id}/items/{item_id} ({param} = one segment, a final * = the rest)';

const route = z
  .string({ error: ROUTE_HELP })
  .superRefine((s, ctx) => {
    const p = routeProblem(s);
    if (p !== undefined) ctx.addIssue({ code: 'custom', input: s, message: `${p}: ${ROUTE_HELP}` });
  });

const pattern = z
  .strictObject({
    regex: z
      .string({ error: 'must be a regular expression' })
      .superRefine((s, ctx) => {
        try {
          new RegExp(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', input: s, message: `must be a valid regular expression (${(err as Error).message})` });
        }
      })
      .describe('JavaScript regular expression tested against the path after the listen path (anchor it with ^…$ to match whole paths).'),
    template: z
      .string({ error: 'must be a route template' })
      .refine((s) => s.startsWith('/'), { message: 'must start with / (e.g. /legacy/{path})' })
      .describe('The route reported when the regex matches; $1…$9 and $<name> insert capture groups (keep them low-cardinality).'),
  })
  .describe('A regex → template rule.');

const routeList = () =>
  z.array(route, { error: 'must be a list of routes such as /orders/{id}' }).default([]);
const patternList = () => z.array(pattern, { error: 'must be a list of {regex, template} rules' }).default([]);

const apiRules = z
  .strictObject({
    listen_path: z
      .string({ error: 'must be a listen path such as /orders/' })
      .refine((s) => s.startsWith('/'), { message: 'must start with / (e.g. /orders/)' })
      .optional()
      .describe('The API\'s listen path, used for records that do not carry one (gateways before pump 1.16 / Tyk 5.x).'),
    routes: routeList().describe('Routes of this API, relative to its listen path (as in the API definition), matched before the global ones. Never capped.'),
    patterns: patternList().describe('Regex rules of this API, tried after its routes and before the global rules.'),
  })
  .describe('Rules for one API.');

/** Schema of `processors::route`. */
export const routeConfigSchema = z
  .strictObject({
    path_source: z
      .enum(['path', 'raw_path', 'original_path'], { error: 'must be one of "path", "raw_path", "original_path"' })
      .default('path')
      .describe('Record field to template: path (tracked or URL path, keeps the gateway\'s {id}/{uuid} normalisation), raw_path (URL path), original_path (before URL rewrites). An empty field falls back to path, then raw_path.'),
    include_listen_path: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .describe('Report <listen_path><endpoint template> (e.g. /orders/v1/items/{id}); false reports only the endpoint template (/v1/items/{id}).'),
    routes: routeList().describe('Routes for every API, relative to the listen path, tried after the API\'s own rules. Never capped.'),
    patterns: patternList().describe('Regex rules for every API, tried after the routes and before the built-in rules.'),
    apis: z
      .record(z.string(), apiRules.prefault({}), { error: 'must be a map of API ids to rules' })
      .default({})
      .describe('Per-API rules, keyed by api_id.'),
    max_routes_per_api: positiveInt(100).describe('Distinct routes kept per API (routes listed in `routes` do not count); further routes are reported as overflow_route.'),
    overflow_route: z
      .string({ error: 'must be a string' })
      .min(1, 'must not be empty')
      .default('{other}')
      .describe('The route reported once an API has max_routes_per_api routes in use.'),
    route_idle_timeout: duration({ min: 1000 })
      .prefault('1h')
      .describe('A route unused this long frees its slot under max_routes_per_api (so a burst of junk paths does not block real routes forever).'),
    max_segments: positiveInt(32).describe('Path segments templated; the rest of a longer path is reported as a final /*.'),
    max_segment_length: positiveInt(64).describe('Characters; a longer segment is reported as {id}.'),
    cache_size: positiveInt(10_000).describe('Entries of the (api, path) → route cache, used for APIs that have user routes or patterns.'),
  })
  .describe('Turns request paths into low-cardinality route templates (http.route).');

/** Parsed `processors::route` config. */
export type RouteConfig = z.infer<typeof routeConfigSchema>;
