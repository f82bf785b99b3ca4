import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage, pageDupRmap } from '../../src/kernel/page.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { migrationEntryOf, rmapMappings, rmapNextMm } from '../../src/kernel/ops/rmap.js';

const PARENT = 0;
const CHILD = 1;
const OTHER = 2;

/** Page 42 at vpn 1 of parent, shared read-only with its fork child; `other` is another lineage. */
function world() {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['parent', 'child', 'other'], actors: ['a'] });
  for (const mm of [PARENT, CHILD, OTHER]) addVma(w, mm, { start: 0, end: 4 });
  w.obj(MM, CHILD).anonVma = w.obj(MM, PARENT).anonVma; // fork relatives share the anon_vma
  const pfn = populateAnon(w, PARENT, 1, 42, false);
  setPte(w, CHILD, 1, pfn, false, false);
  pageDupRmap(w, pfn);
  getPage(w, pfn);
  return { w, pfn };
}

describe('anon rmap walk (rmap_walk_anon)', () => {
  it('finds every mm of the lineage whose pte at page->index maps the page, one per cursor step', () => {
    const { w, pfn } = world();
    expect(rmapNextMm(w, pfn, 0)).toBe(PARENT);
    expect(rmapNextMm(w, pfn, PARENT + 1)).toBe(CHILD);
    expect(rmapNextMm(w, pfn, CHILD + 1)).toBe(-1);
    expect(rmapMappings(w, pfn)).toEqual([PARENT, CHILD]);
  });

  it('does not see special ptes, even in an mm of the same lineage', () => {
    const { w, pfn } = world();
    w.obj(MM, OTHER).anonVma = w.obj(MM, PARENT).anonVma;
    setPte(w, OTHER, 1, pfn, false, true); // vmf_insert_pfn: no refcount, no mapcount, no rmap
    expect(rmapMappings(w, pfn)).toEqual([PARENT, CHILD]);
  });

  it('does not see a normal pte of another lineage (the unaccounted remote-page design, R14)', () => {
    const { w, pfn } = world();
    setPte(w, OTHER, 1, pfn, true, false); // a normal pte nobody accounted for
    expect(rmapMappings(w, pfn)).toEqual([PARENT, CHILD]);
  });

  it('skips a relative whose pte at the index maps another page (after COW)', () => {
    const { w, pfn } = world();
    const copy = populateAnon(w, OTHER, 3, 7); // any other page
    setPte(w, CHILD, 1, copy, true, false);
    expect(rmapMappings(w, pfn)).toEqual([PARENT]);
  });

  it('finds migration entries with the migration matcher and nothing for a non-anon page', () => {
    const { w, pfn } = world();
    const p = pte(w, CHILD, 1);
    p.present = 0;
    p.pfn = 0;
    p.migration = pfn;
    expect(rmapNextMm(w, pfn, 0, migrationEntryOf)).toBe(CHILD);
    expect(rmapMappings(w, pfn)).toEqual([PARENT]);
    w.obj(PAGE, pfn).anon = 0;
    expect(rmapNextMm(w, pfn, 0)).toBe(-1);
  });
});
