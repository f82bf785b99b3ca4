/**
 * The data of the HTML report: a counterexample replayed step by step, with a snapshot of every
 * layer's page tables and of the page frames after each step. Layers: the source's ptes, the
 * source KVM's EPT, the mirror ptes in the introspector, the introspector KVM's EPT, the fork
 * child's ptes (if the scenario forks) and the page frames.
 */
import type { CheckResult } from '../check/run.js';
import { PROPERTIES } from '../check/properties.js';
import { Verdicts } from '../engine/verdict.js';
import { entryActor } from '../world/entry.js';
import { decodeSchedule } from '../engine/schedule.js';
import { scenarioByName } from '../scenario/catalogue.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { variantByName } from '../mirror/variants.js';
import { buildScenario } from '../scenario/build.js';
import { MM, PAGE } from '../kernel/structs.js';
import { pte } from '../kernel/pgtable.js';
import { KVM } from '../kvm/structs.js';
import { spte } from '../kvm/topology.js';
import { traceStep, type Change } from '../world/runner.js';
import type { World } from '../world/world.js';

/** One table of the report: rows keyed by vpn, gfn or pfn, one column per field. */
export interface LayerSpec {
  /** Stable id, used in `data-testid`s: `layer-ID`, `cell-ID-KEY-COLUMN` (frames: `frame-PFN-COLUMN`). */
  readonly id: string;
  readonly title: string;
  /** What a row key is: `vpn`, `gfn` or `pfn`. */
  readonly keyName: string;
  readonly keys: readonly number[];
  readonly columns: readonly string[];
  /** Columns shown in hexadecimal (page contents). */
  readonly hex?: readonly string[];
}

/** Every layer's rows of cells (in `LayerSpec.keys` × `LayerSpec.columns` order), by layer id. */
export type Snapshot = Record<string, number[][]>;

export interface ReportStep {
  readonly index: number;
  readonly actor: string;
  readonly actorIndex: number;
  /** `routine:label` of the step. */
  readonly where: string;
  /** The kernel function it models. */
  readonly at: string;
  /** `goto`, `call`, `return`, or `sleep`/`spin` for a final attempt that blocked (and raised a BUG). */
  readonly outcome: string;
  readonly next: string;
  readonly changes: readonly Change[];
  readonly bugs: readonly string[];
  /** Every layer after the step. */
  readonly snapshot: Snapshot;
}

export interface ReportInput {
  readonly result: CheckResult;
  /** The violated property's one-sentence description. */
  readonly propertyDescription?: string;
  readonly actors: readonly string[];
  readonly layers: readonly LayerSpec[];
  /** The state before the first step. */
  readonly initial?: Snapshot;
  readonly steps: readonly ReportStep[];
  /** Set when the schedule could not be replayed in full (the steps that ran are kept). */
  readonly replayError?: string;
}

/** What check `name` (built-in or a property) means, from the verdict module. */
export function propertyDescription(name: string): string | undefined {
  return new Verdicts(PROPERTIES).describe(name);
}

const PTE_COLUMNS = ['pfn', 'present', 'write', 'special', 'swap', 'migration', 'gen'] as const;
const SPTE_COLUMNS = ['pfn', 'write', 'gen'] as const;
const FRAME_COLUMNS = ['refcount', 'mapcount', 'free', 'gen', 'contents', 'locked'] as const;
const SOURCE = 0;
const INTROSPECTOR = 1;
const CHILD = 2;

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

function kvmIndex(w: World, name: string): number {
  if (!w.layout.has(KVM)) return -1;
  return w.layout.region(KVM).names?.indexOf(name) ?? -1;
}

/** The tables this scenario has, and a function reading them from a world. */
export function reportLayers(w: World, spec: ScenarioSpec): { layers: LayerSpec[]; read: (w: World) => Snapshot } {
  const P = spec.pages;
  const vpns = range(P);
  const layers: LayerSpec[] = [];
  const readers: ((w: World) => number[][])[] = [];
  const ptes = (id: string, title: string, mm: number) => {
    layers.push({ id, title, keyName: 'vpn', keys: vpns, columns: PTE_COLUMNS });
    readers.push((w) => vpns.map((vpn) => PTE_COLUMNS.map((c) => pte(w, mm, vpn)[c])));
  };
  const ept = (id: string, title: string, kvm: number) => {
    if (kvm < 0) return;
    layers.push({ id, title, keyName: 'gfn', keys: vpns, columns: SPTE_COLUMNS });
    readers.push((w) => vpns.map((g) => SPTE_COLUMNS.map((c) => spte(w, kvm, g)[c])));
  };
  ptes('source', 'Source ptes (source mm)', SOURCE);
  ept('source-ept', 'Source KVM EPT (kvm-source)', kvmIndex(w, 'kvm-source'));
  ptes('mirror', 'Mirror ptes (introspector mm, mirror VMA)', INTROSPECTOR);
  ept('introspector-ept', 'Introspector KVM EPT (kvm-introspector)', kvmIndex(w, 'kvm-introspector'));
  if (w.count(MM) > CHILD) ptes('child', 'Fork child ptes (child mm)', CHILD);
  const pfns = range(w.count(PAGE) - 1, 1); // pfn 0 means "no page" and is never allocated
  layers.push({ id: 'frames', title: 'Page frames', keyName: 'pfn', keys: pfns, columns: FRAME_COLUMNS, hex: ['contents'] });
  readers.push((w) => pfns.map((pfn) => FRAME_COLUMNS.map((c) => w.obj(PAGE, pfn)[c])));
  return {
    layers,
    read: (w) => Object.fromEntries(layers.map((l, i) => [l.id, readers[i](w)])),
  };
}

/**
 * Replays the counterexample of `result` from the scenario's initial state, recording each step and
 * every layer after it. `spec` defaults to the built-in scenario of that name (pass it for a
 * scenario loaded from a file). A result without a counterexample gives an input with no steps.
 */
export function buildReportInput(result: CheckResult, spec?: ScenarioSpec): ReportInput {
  const base = {
    result,
    propertyDescription: result.violation ? propertyDescription(result.violation.property) : undefined,
  };
  const scenario = spec ?? scenarioByName(result.scenario);
  const variant = variantByName(result.variant);
  if (!scenario || !variant) {
    const missing = !scenario ? `scenario "${result.scenario}"` : `variant "${result.variant}"`;
    return { ...base, actors: [], layers: [], steps: [], replayError: result.violation ? `unknown ${missing}: the trace cannot be replayed` : undefined };
  }
  const { world: w } = buildScenario(scenario, variant);
  const actors = [...w.layout.actorNames];
  const { layers, read } = reportLayers(w, scenario);
  if (!result.violation) return { ...base, actors, layers, steps: [] };
  const choices = result.violation.schedule ?? (result.schedule ? decodeSchedule(result.schedule).choices : []);
  const initial = read(w);
  const steps: ReportStep[] = [];
  let replayError: string | undefined;
  for (let i = 0; i < choices.length; i++) {
    const a = choices[i];
    try {
      // A kernel-bug schedule may end with an attempt that blocked where it must not sleep:
      // traceStep records it (outcome sleep/spin, nothing changed).
      const t = traceStep(w, a, i);
      steps.push({ ...t, actorIndex: entryActor(a), snapshot: read(w) });
    } catch (e) {
      replayError = `step ${i}: ${e instanceof Error ? e.message : String(e)}`;
      break;
    }
  }
  return { ...base, actors, layers, initial, steps, replayError };
}

