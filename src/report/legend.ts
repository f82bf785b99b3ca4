/**
 * What a reader of a trace needs to decode it, in one place for every rendering (the text of
 * `replay`, the HTML report, the trail file): how a schedule is written, what each column of the
 * layer tables means, how the model encodes values the kernel keeps in other forms, and which steps
 * of a counterexample are the racing ones.
 */
import type { Change } from '../world/runner.js';

/** How to read a schedule string: printed with every schedule. */
export const SCHEDULE_SYNTAX =
  "SCENARIO/VARIANT:CHOICES — the steps in order, each by its actor's index (actors numbered from 0 in the scenario's order); a*n: n steps of actor a; acK: a step of actor a taking alternative K of a branch (an injected fault)";

/** One entry of the legend: a field or an encoding, and what it means. */
export interface LegendEntry {
  readonly name: string;
  readonly meaning: string;
  /** The changed fields (`pte[source@0].gen`) it explains; an entry without one explains a form every trace has. */
  readonly fields?: RegExp;
}

/** The columns of the layer tables (src/report/snapshot.ts) and the fields the changes name most. */
export const FIELD_LEGEND: readonly LegendEntry[] = [
  { name: 'pfn', fields: /\.pfn$/, meaning: 'page frame number mapped (0: none; frames are numbered from 1)' },
  { name: 'present', fields: /\.present$/, meaning: 'pte_present: 1 when the pte maps pfn' },
  { name: 'write', fields: /\.write$/, meaning: 'pte_write / the EPT entry is writable' },
  { name: 'special', fields: /\.special$/, meaning: 'pte_special: a VM_PFNMAP mapping with no struct page reference (vmf_insert_pfn)' },
  { name: 'refcount', fields: /\.refcount$/, meaning: 'folio_ref_count of the frame' },
  { name: 'mapcount', fields: /\.mapcount$/, meaning: 'folio_mapcount: the normal (not special) ptes mapping the frame' },
  { name: 'free', fields: /\.free$/, meaning: '1 while the frame is on the buddy free list' },
  { name: 'contents', fields: /\.contents$/, meaning: 'the value last written to the page (hexadecimal)' },
  { name: 'locked', fields: /\.locked$/, meaning: 'the folio lock: the tag of the actor holding it, 0 when unlocked' },
  { name: 'ACTOR:routine.field', meaning: "a local or parameter of routine's frame on ACTOR's stack (written by the step that calls it)" },
  { name: 'pte[MM@vpn]', fields: /^pte\[/, meaning: "the pte of page vpn in MM's address space (source, introspector, child)" },
  { name: 'page[pfnN]', fields: /^page\[/, meaning: 'the struct page (folio) of frame N' },
];

/** Values the model encodes as integers. */
export const ENCODING_LEGEND: readonly LegendEntry[] = [
  {
    name: 'gen',
    fields: /\.gen$/,
    meaning:
      "ghost state, not kernel data: a frame's gen counts its allocations; a pte or EPT entry keeps the gen the frame had when it was installed, so a mapping whose gen differs from its frame's maps a frame that was freed and reused",
  },
  { name: 'swap', fields: /\.swap$/, meaning: 'a swap entry, swp_entry(slot) stored as slot + 1 (0: none); a pte holding one is not present; a page holding one is in the swap cache' },
  { name: 'migration', fields: /\.migration$/, meaning: 'a migration entry: the pfn being migrated (0: none); the pte is not present until remove_migration_ptes' },
  {
    name: 'HMM pfn',
    fields: /pfns|hmm/i,
    meaning:
      'an entry of range->pfns (v5.3) / range->hmm_pfns: (pfn << 4) | flags — 1 VALID, 2 WRITE; 0 nothing mapped (pte_none, swap, migration), 4 ERROR, 8 SPECIAL (v5.3); e.g. 19 = pfn 1, valid, writable',
  },
  {
    name: 'lock owner',
    fields: /lock|owner|holder/i,
    meaning: 'a lock or folio-lock field holds the tag of the actor holding it — its schedule index + 1 — and 0 when free; a shared lock counts its readers',
  },
  {
    name: 'seq',
    fields: /seq$/i,
    meaning:
      "mm[…].invalidateSeq is the mm's invalidate_seq, odd while an invalidation is in progress; a subscription's seq is the value mmu_interval_set_seq gave it, which mmu_interval_read_retry compares with the one read_begin returned",
  },
];

/**
 * The objects a violation message names, as the changes write them: `MM@vpn` as `[MM@vpn]`, `pfn N`
 * as `[pfnN]`, `struct[i]` as itself.
 */
function namedObjects(message: string): string[] {
  const names = new Set<string>();
  for (const m of message.matchAll(/\b([a-z][\w-]*@\d+)/g)) names.add(`[${m[1]}]`);
  for (const m of message.matchAll(/\bpfn (\d+)/g)) names.add(`[pfn${m[1]}]`);
  for (const m of message.matchAll(/\b([a-zA-Z]\w*\[\d+\])/g)) names.add(m[1]);
  return [...names];
}

/**
 * The racing steps of a counterexample: for each actor, its last step that wrote a field of an
 * object the violation's message names (`pte[introspector@0]`, `page[pfn1]`, `intervalNotifier[0]`);
 * if no step wrote one, the last step of each actor that ran. The last step (after which the
 * violation holds) is always one. Indices into `steps`.
 */
export function racingSteps(steps: readonly { readonly actorIndex: number; readonly changes: readonly Change[] }[], message: string | undefined): number[] {
  if (!steps.length) return [];
  const names = message ? namedObjects(message) : [];
  const touches = (changes: readonly Change[]) => changes.some((c) => names.some((n) => c.what.includes(n)));
  const lastOf = (pick: (i: number) => boolean) => {
    const by = new Map<number, number>();
    steps.forEach((s, i) => {
      if (pick(i)) by.set(s.actorIndex, i);
    });
    return by;
  };
  let by = lastOf((i) => touches(steps[i].changes));
  if (!by.size) by = lastOf(() => true);
  return [...new Set([...by.values(), steps.length - 1])].sort((a, b) => a - b);
}

/** The legend entries a trace needs: those whose fields its steps changed, and the forms every trace has. */
export function legendFor(changed: readonly string[]): LegendEntry[] {
  return [...FIELD_LEGEND, ...ENCODING_LEGEND].filter((e) => !e.fields || changed.some((c) => e.fields!.test(c)));
}
