/**
 * The layers of the reports: every layer's page table and the page frames, read from a world.
 * Layers: the source's ptes, the source KVM's EPT, the mirror ptes in the introspector, the
 * introspector KVM's EPT, the fork child's ptes (if the scenario forks) and the page frames. The
 * trace (trace.ts) reads them after every step.
 */
import type { ScenarioSpec } from '../scenario/spec.js';
import { MM, PAGE } from '../kernel/structs.js';
import { pte } from '../kernel/pgtable.js';
import { KVM } from '../kvm/structs.js';
import { spte } from '../kvm/topology.js';
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
