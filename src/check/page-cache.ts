/**
 * The page cache's coherence property: a shared file mapping shows the file. Every present pte of
 * a VMA mapping a shmem file (src/kernel/filemap.ts) maps the folio the file's page cache holds at
 * that index. A folio that truncation or a hole punch took out of the cache while a pte still
 * mapped it breaks this at once: the process (and every secondary MMU refining its pte: the
 * refinement property) keeps a page the file no longer has — its writes are lost to every other
 * mapper, whose next fault finds another page. A page freed under a mapping is no-dangling-pfn's.
 */
import type { World } from '../world/world.js';
import type { Property } from '../engine/verdict.js';
import { MM, PAGE, VMA } from '../kernel/structs.js';
import { pte } from '../kernel/pgtable.js';
import { hasFiles, iPagesSlot, mappingOfFile } from '../kernel/filemap.js';

const mmName = (w: World, mm: number) => w.layout.objectName(w.layout.region(MM), mm);

export const pageCacheCoherence: Property = {
  name: 'page-cache-coherence',
  description: "every present pte of a shared file mapping maps the folio its file's page cache holds at that index: no page truncated or punched out of the file stays mapped",
  reads: ['vma.*', 'pte.*', 'page.anon', 'addressSpace.*', 'iPages.*'],
  check(w) {
    if (!hasFiles(w)) return undefined;
    const per = w.layout.dims.vmasPerMm;
    for (let i = 0; i < w.count(VMA); i++) {
      const v = w.obj(VMA, i);
      if (!v.used) continue;
      const m = mappingOfFile(w, v.file);
      if (m < 0) continue;
      const mm = Math.floor(i / per);
      for (let vpn = v.start; vpn < v.end; vpn++) {
        const p = pte(w, mm, vpn);
        if (!p.present || p.special || w.obj(PAGE, p.pfn).anon) continue; // a COWed private page is not the file's
        const index = v.pgoff + (vpn - v.start);
        const cached = iPagesSlot(w, m, index).folio;
        if (cached !== p.pfn)
          return `pte ${mmName(w, mm)}@${vpn} maps pfn ${p.pfn}, but the file's page cache holds ${cached ? `pfn ${cached}` : 'nothing'} at index ${index}: a page removed from the file is still mapped`;
      }
    }
    return undefined;
  },
};
