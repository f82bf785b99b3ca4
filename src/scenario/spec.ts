/** The declarative form of a scenario: a topology and a workload, plain data (also what YAML/JSON files hold). */

/** The operations (one alternative per entry of the table in operations.ts) and their field types. */
export type { MmName, VmName, Op } from './operations.js';
import type { AnyOps, MmName, Op, VmName } from './operations.js';
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
  /**
   * Kernel layers switched on (src/world/layers.ts): each adds real interleavings, and so states,
   * to every scenario that has it, so a scenario pays only for the layers it asks for.
   */
  readonly layers?: readonly KernelLayer[];
  /**
   * What backs the source's pages (default `anonymous`: private anonymous memory). `memfd`: a
   * memfd the source maps MAP_SHARED (QEMU's `memory-backend-memfd,share=on`), which the
   * introspector maps MAP_SHARED too, beside its mirror: pages in the page cache, `ftruncate`,
   * `punch-hole` and `memfd-access` operations (src/kernel/shmem.ts, truncate.ts).
   */
  readonly memory?: MemoryKind;
  /**
   * Counter domains kept concrete when the checker abstracts counters (src/engine/counters.ts): a
   * race that depends on a counter's value itself (B-21: a start near 2^31, a sign test).
   */
  readonly concreteCounters?: readonly string[];
  readonly actors: readonly ActorSpec[];
  /** Variants this scenario applies to (default: all). */
  readonly variants?: readonly string[];
  /**
   * The outcomes allowed once every actor has finished (src/scenario/outcome.ts): one for a
   * deterministic case, several for a racing one, where each must be reached by some interleaving.
   */
  readonly outcomes?: readonly OutcomeSpec[];
  /** Routines the scenario exercises: a search that holds must have run every label of each. */
  readonly exercises?: readonly string[];
  /**
   * Groups of interchangeable actors, by name (the same operations with the same arguments:
   * symmetric.ts checks it): under `--symmetry` states that differ only in which actor of a group
   * is which are one state (src/engine/actor-symmetry.ts).
   */
  readonly symmetric?: readonly (readonly string[])[];
}

/** One allowed outcome: observations that must all hold (`outcome:` in a file is one of these, unnamed). */
export interface OutcomeSpec {
  readonly name?: string;
  readonly observe: readonly Observation[];
}

/** A page of a process (its pte), a guest frame of a KVM (its EPT entry) or an entry of a driver's device table. */
export interface FrameRef {
  readonly mm?: MmName;
  readonly vm?: VmName;
  /** A device table by name (`defineTable`). */
  readonly table?: string;
  readonly page: number;
  /** The mirror device (the introspector's pages, a device table): default 0. */
  readonly device?: number;
}

/** The end of an actor's operation `op` (0-based, as `actors[i].ops[op]`). */
export interface OpPoint {
  readonly actor: string;
  readonly op: number;
}

/**
 * One observation: exactly one subject (a pte, an EPT entry, a device-table entry, an operation's
 * return value, a driver counter) and what must hold of it, once every actor has finished or, with
 * `after`, when that actor moves on from that operation.
 */
export interface Observation {
  readonly pte?: FrameRef;
  readonly ept?: FrameRef;
  readonly table?: FrameRef;
  readonly result?: OpPoint;
  readonly counter?: { readonly struct: string; readonly field: string; readonly object?: number };
  readonly after?: OpPoint;
  readonly present?: boolean;
  readonly writable?: boolean;
  /** Maps the same frame as this other entry (both present). */
  readonly samePage?: FrameRef;
  /** Maps a frame, not the one this other entry maps. */
  readonly otherPage?: FrameRef;
  /** The contents of the frame mapped; for a result or counter, its value. */
  readonly value?: number;
  readonly refcount?: number;
  readonly mapcount?: number;
  /** Layer dirty-accessed: the entry's dirty bit (a pte's _PAGE_DIRTY, an EPT entry's D bit). */
  readonly dirty?: boolean;
  /** Layer dirty-accessed: the entry's accessed bit (pte_young, an EPT entry's A bit). */
  readonly young?: boolean;
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

/**
 * The kernel layers a scenario may switch on; without one the model keeps the simpler behaviour
 * that README's "What the model covers" table describes for it.
 */
export const KERNEL_LAYERS = ['cpu-tlb', 'dirty-accessed', 'thp', 'kvm-tdp-mmu', 'kvm-tlb', 'zero-page'] as const;
export type KernelLayer = (typeof KERNEL_LAYERS)[number];

/** What may back the source's pages (`memory:`). */
export const MEMORY_KINDS = ['anonymous', 'memfd'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];
