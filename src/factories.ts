/**
 * Every factory, loaded: for the commands and tests that work with every component type (dashboards, SLO
 * rules, conversion, conformance). `run` loads only the types its config names (`loadFactoriesFor`).
 */
import type { Factory } from './component.js';
import { loadAllFactories } from './registry.js';

/** All factories, receivers first, then processors, then exporters. */
export const factories: readonly Factory[] = await loadAllFactories();
