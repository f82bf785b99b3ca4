/** The library entry point: build scenarios, explore them, render results. */
export { explore, type ExploreOptions, type ExploreResult } from './engine/exhaustive.js';
export { Verdicts, type Property, type Violation, type Found } from './engine/verdict.js';
export { PROPERTIES } from './check/properties.js';
export { checkOne, checkCatalogue, tableExpectations, type CheckResult } from './check/run.js';
export { simulate } from './engine/simulate.js';
export { simulateScenario } from './check/run.js';
export { shrinkSchedule } from './engine/shrink.js';
export { countPreemptions } from './engine/replay.js';
export { encodeSchedule, decodeSchedule } from './engine/schedule.js';
export { buildScenario } from './scenario/build.js';
export { CATALOGUE, scenarioByName } from './scenario/catalogue.js';
export { loadScenarioFile, parseScenario, ScenarioError } from './scenario/load.js';
export type { ScenarioSpec, Op, ActorSpec } from './scenario/spec.js';
export { VARIANTS, variantByName } from './mirror/variants.js';
export type { MirrorVariant } from './mirror/device.js';
export { runSchedule, formatTrace, type TraceStep } from './world/runner.js';
export { dump } from './world/describe.js';
export { renderHtmlReport, type ReportInput } from './report/html.js';
export { traceOf, counterexampleTrace, type Trace, type TracedStep } from './report/trace.js';
export { traceJson, type TraceJson } from './report/json.js';
export { verdictTable, replayText } from './report/text.js';
export * from './driver/api.js';
/**
 * hmm_range_fault over a range (mm/hmm.c; src/kernel/hmm/hmm.ts): the caller's struct hmm_range
 * (`hmmRangeOf(w)`, filled with `hmmRangeInit`, its sequence with `hmmRangeSetSeq`, per-page
 * requests with `hmmRangeSetPfn`), the call (`return hmmRangeFaultCall(w, resume, range)`: 0 or
 * -errno), its results (`hmmRangePfn`, decoded with hmmPfnToPfn / hmmPfnWritable / hmmPfnValid and
 * HMM_PFN_ERROR), and `hmmRangeDone` when the caller's frame would die. Request flags:
 * HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE.
 */
export { hmmRangeOf, hmmRangeInit, hmmRangeSetSeq, hmmRangeSetPfn, hmmRangePfn, hmmRangeDone, hmmRangeFaultCall } from './kernel/hmm/hmm.js';
export { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_ERROR, HMM_PFN_VALID, HMM_PFN_WRITE } from './kernel/hmm/hmm-pfn.js';
export { HMM_RANGE_NOW, HMM_RANGE_PAGES } from './kernel/hmm/hmm-range.js';
/** The thp layer (src/kernel/huge.ts): the order hmm_range_fault reports a PMD mapping at (hmm_pfn_to_map_order), and the model's PMD order. */
export { hmmPfnToMapOrder } from './kernel/hmm/hmm-pfn.js';
export { HPAGE_PMD_ORDER, HPAGE_PMD_NR } from './kernel/huge.js';
export { EPERM } from './kernel/flags.js';
