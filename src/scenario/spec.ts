/** The declarative form of a scenario: a topology and a workload, plain data (also what YAML/JSON files hold). */

/** Which process an operation acts on. */
export type MmName = 'source' | 'introspector' | 'child';
/** Which KVM guest. */
export type VmName = 'source' | 'introspector';

export type Op =
  /** A user load/store by the process on one of its pages (the mirror, for the introspector). */
  | { readonly op: 'access'; readonly mm: MmName; readonly page: number; readonly write?: boolean; readonly value?: number }
  /** A guest load/store through the KVM's EPT (gfn = page). */
  | { readonly op: 'guest-access'; readonly vm: VmName; readonly page: number; readonly write?: boolean; readonly value?: number }
  /** kswapd reclaims the page backing the source page to swap. */
  | { readonly op: 'reclaim'; readonly page: number }
  /** kcompactd migrates the page backing the source page. */
  | { readonly op: 'migrate'; readonly page: number }
  | { readonly op: 'madvise-dontneed'; readonly mm: MmName; readonly page: number; readonly pages?: number }
  | { readonly op: 'munmap'; readonly mm: MmName; readonly page: number; readonly pages?: number }
  | { readonly op: 'mprotect-readonly'; readonly mm: MmName; readonly page: number; readonly pages?: number }
  /** fork(): the process's mm is duplicated into the `child` mm. */
  | { readonly op: 'fork'; readonly mm: 'source' | 'introspector' }
  /** The process exits: its last mmput runs exit_mmap. */
  | { readonly op: 'exit'; readonly mm: MmName }
  /** The OOM reaper reaps the process's mm (non-blockable invalidation). */
  | { readonly op: 'oom-reap'; readonly mm: MmName };

export interface ActorSpec {
  readonly name: string;
  readonly ops: readonly Op[];
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
  readonly actors: readonly ActorSpec[];
  /** Variants this scenario applies to (default: all). */
  readonly variants?: readonly string[];
}
