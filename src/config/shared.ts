/**
 * Top-level config sections that are not components but are shared by several of them. Each is validated
 * with the rest of the config and handed to every component as `ctx.shared`.
 */
import { z } from 'zod';
import { compileErrorDefinition, errorDefinitionSchema, type ErrorDefinition } from '../error-definition.js';

/** Schemas of the shared top-level sections, keyed by their YAML name. */
export const sharedSectionSchemas = {
  error_definition: errorDefinitionSchema.prefault({}),
} as const;

/** What components receive as `ctx.shared`. */
export interface SharedConfig {
  /** The compiled top-level `error_definition` (components may override it with their own key). */
  readonly errorDefinition: ErrorDefinition;
}

/** Builds `ctx.shared` from the parsed sections. */
export function buildSharedConfig(sections: { error_definition: z.infer<typeof errorDefinitionSchema> }): SharedConfig {
  return { errorDefinition: compileErrorDefinition(sections.error_definition) };
}
