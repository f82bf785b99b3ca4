/** The library entry point: build scenarios, explore them, render results. */
export { explore, type ExploreOptions, type ExploreResult, type Property, type Violation } from './check/explore.js';
export { PROPERTIES } from './check/properties.js';
export { checkOne, checkCatalogue, tableExpectations, type CheckResult } from './check/run.js';
export { simulate, simulateScenario } from './check/simulate.js';
export { shrinkSchedule, countPreemptions } from './check/shrink.js';
export { encodeSchedule, decodeSchedule } from './check/schedule.js';
export { buildScenario } from './scenario/build.js';
export { CATALOGUE, scenarioByName } from './scenario/catalogue.js';
export { loadScenarioFile, parseScenario, ScenarioError } from './scenario/load.js';
export type { ScenarioSpec, Op, ActorSpec } from './scenario/spec.js';
export { VARIANTS, variantByName } from './mirror/variants.js';
export type { MirrorVariant } from './mirror/device.js';
export { runSchedule, formatTrace, type TraceStep } from './world/runner.js';
export { dump } from './world/describe.js';
export { renderHtmlReport, buildReportInput } from './report/html.js';
export { verdictTable } from './report/text.js';
