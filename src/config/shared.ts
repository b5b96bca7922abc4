/**
 * Top-level config sections that are not components but are shared by several of them. Each is validated
 * with the rest of the config and handed to every component as `ctx.shared`. A section may also declare a
 * cross-section check (`sharedSectionChecks`), run by the loader once every component and shared section
 * has been parsed, for rules that span sections (e.g. an SLO's latency threshold must be a bucket boundary
 * of the `sli` processor).
 */
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { compileErrorDefinition, errorDefinitionSchema, type ErrorDefinition } from '../error-definition.js';
import { crossCheckSlos, resolveSlos, slosSchema, type CrossCheckInput, type Slo, type SloConfig } from '../slo/definition.js';

/** Schemas of the shared top-level sections, keyed by their YAML name. */
export const sharedSectionSchemas = {
  error_definition: errorDefinitionSchema.prefault({}),
  slos: slosSchema,
} as const;

/** What a cross-section check sees: the valid components and the parsed shared sections. */
export type { CrossCheckInput } from '../slo/definition.js';

/** A cross-section check: returns problems (path-prefixed like every other problem). */
export type CrossCheck = (input: CrossCheckInput) => ConfigProblem[];

/** Cross-section checks, keyed by the shared section that declares them; run on every load. */
export const sharedSectionChecks: Readonly<Record<string, CrossCheck>> = {
  slos: crossCheckSlos,
};

/** What components receive as `ctx.shared`. */
export interface SharedConfig {
  /** The compiled top-level `error_definition` (components may override it with their own key). */
  readonly errorDefinition: ErrorDefinition;
  /** The top-level `slos`, resolved (empty when the section is absent). */
  readonly slos: readonly Slo[];
}

/** Builds `ctx.shared` from the parsed sections (`slos` may be omitted: no SLOs). */
export function buildSharedConfig(sections: { error_definition: z.infer<typeof errorDefinitionSchema>; slos?: readonly SloConfig[] }): SharedConfig {
  const errorDefinition = compileErrorDefinition(sections.error_definition);
  return { errorDefinition, slos: resolveSlos(sections.slos ?? [], errorDefinition) };
}
