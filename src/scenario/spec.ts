/** The declarative form of a scenario: a topology and a workload, plain data (also what YAML/JSON files hold). */

/** The operations (one alternative per entry of the table in operations.ts) and their field types. */
export type { MmName, VmName, Op } from './operations.js';
import type { AnyOps, Op } from './operations.js';
export type { AnyOps } from './operations.js';

export interface ActorSpec {
  readonly name: string;
  /** Its operations, in order (none for an `any` adversary). */
  readonly ops: readonly Op[];
  /** Instead of a list: any sequence of at most `any.ops` core-mm operations over pages 0..any.pages-1, every choice explored. */
  readonly any?: AnyOps;
}

export interface ScenarioSpec {
  readonly name: string;
  /** One paragraph: what it exercises and why. */
  readonly description: string;
  /** Source pages mirrored (source vpns 0..pages-1, anonymous, faulted in before the actors start). */
  readonly pages: number;
  /** The source QEMU's KVM maps the source pages (guest frames 0..pages-1). */
  readonly sourceKvm?: boolean;
  /** The introspector's KVM maps the mirror through a memslot (Paolo's nested question). */
  readonly introspectorKvm?: boolean;
  /** KVM's state when each of the scenario's VMs is created (needs sourceKvm or introspectorKvm). */
  readonly kvm?: KvmOptions;
  /** Fault points switched on (src/world/faults.ts): `alloc-fail` — a page allocation may fail; `trylock-fail` — a trylock on a free lock may fail. */
  readonly faults?: readonly FaultPoint[];
  readonly actors: readonly ActorSpec[];
  /** Variants this scenario applies to (default: all). */
  readonly variants?: readonly string[];
}

/** The `kvm:` settings of a scenario file. */
export interface KvmOptions {
  /** kvm->mmu_invalidate_seq at creation (default 0): a long-lived VM's count of ended invalidations, 0..2^53-1. */
  readonly invalidateSeqStart?: number;
  /** How many guest frames its first memslot maps (gfns 0..memslotPages-1; default: all `pages`; 0: none, until a set-memslot). */
  readonly memslotPages?: number;
}

/** The fault points a scenario may switch on. */
export const FAULT_POINTS = ['alloc-fail', 'trylock-fail'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];
