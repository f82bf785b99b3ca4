/**
 * The `memory: memfd` set-up (QEMU's `-object memory-backend-memfd,share=on`): the source's pages
 * are a memfd's, which the source maps MAP_SHARED over its pages 0..P-1, faulted in before the
 * actors start (in the page cache, one reference for the cache and one for the source's pte);
 * the introspector maps the same memfd MAP_SHARED too, after its mirror VMAs, with no pte yet
 * (`memfd-access` reaches it). So a scenario can set the two ways of seeing the source's memory
 * side by side: through the design's mirror, which follows the source's ptes, and through a
 * shared mapping of the file, which the kernel keeps coherent by itself (src/kernel/truncate.ts
 * zaps every mapping of a truncated or punched page, each under an invalidation of its mm).
 */
import type { Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { VM_READ, VM_SHARED, VM_WRITE } from '../kernel/flags.js';
import { addVma, populateShmem } from '../kernel/setup.js';
import { ADDRESS_SPACE, declareFiles } from '../kernel/filemap.js';
import { shmemFault } from '../kernel/shmem.js';
import { ref } from '../kernel/ref.js';
import { operationNamed, type MemfdContext, type MmName, type ParentName } from './operations.js';
import type { ScenarioSpec } from './spec.js';

const SOURCE = 0;
const INTROSPECTOR = 1;
/** The memfd's address_space: the only one of the world. */
const MAPPING = 0;
const SHARED = VM_SHARED | VM_READ | VM_WRITE;

/** Where the memfd lives in a scenario's world. */
export interface MemfdGeometry {
  readonly pages: number;
  /** Its file id (`vma.file`): after the mirror devices', which are their indices. */
  readonly file: number;
  /** The introspector's first vpn mapping it: after its mirror VMAs. */
  readonly introspectorStart: number;
  /** The process the fork child copies, if something forks: the child maps the memfd where it does. */
  readonly childOf?: ParentName;
}

export function memfdGeometry(spec: ScenarioSpec, devices: number): MemfdGeometry {
  const fork = spec.actors.flatMap((a) => a.ops).find((op) => operationNamed(op.op)!.createsChild);
  return { pages: spec.pages, file: devices, introspectorStart: spec.pages * devices, childOf: fork?.op === 'fork' ? fork.mm : undefined };
}

export function memfdContext(g: MemfdGeometry): MemfdContext {
  return {
    mapping: MAPPING,
    vpn: (name: MmName, page: number) => ((name === 'child' ? (g.childOf ?? 'source') : name) === 'source' ? page : g.introspectorStart + page),
  };
}

/** The memfd's inode and page cache, in the layout. */
export function declareMemfd(layout: Layout, g: MemfdGeometry): void {
  declareFiles(layout, ['memfd'], g.pages);
}

/** memfd_create + ftruncate(P pages) + the source's mmap(MAP_SHARED), its pages faulted in with `contents`. */
export function mapMemfdSource(w: World, g: MemfdGeometry, contents: (page: number) => number): void {
  const inode = w.obj(ADDRESS_SPACE, MAPPING);
  inode.file = ref(g.file);
  inode.size = g.pages;
  addVma(w, SOURCE, { start: 0, end: g.pages, flags: SHARED, fault: shmemFault, file: g.file });
  for (let page = 0; page < g.pages; page++) populateShmem(w, SOURCE, page, contents(page));
}

/** The introspector's mmap(MAP_SHARED) of the memfd it was passed: no pte until it touches a page. */
export function mapMemfdIntrospector(w: World, g: MemfdGeometry): void {
  addVma(w, INTROSPECTOR, { start: g.introspectorStart, end: g.introspectorStart + g.pages, flags: SHARED, fault: shmemFault, file: g.file });
}
