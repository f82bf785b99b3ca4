/**
 * The built-in scenarios. Each is small enough to explore exhaustively: one or two pages, one
 * operation per actor, and the actors of the seed thread (the source QEMU and its vCPU, the
 * introspector and its nested guest, core mm daemons).
 */
import type { ScenarioSpec } from './spec.js';

export const CATALOGUE: readonly ScenarioSpec[] = [
  {
    name: 'introspect',
    description:
      'The seed set-up: the source guest writes its page through its EPT while the introspector reads the same page through the mirror and kcompactd migrates the page underneath both. Every layer must drop the old page before it is freed and may only pick up the new one.',
    pages: 1,
    sourceKvm: true,
    actors: [
      { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 0x200 }] },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
      { name: 'kcompactd', ops: [{ op: 'migrate', page: 0 }] },
    ],
  },
  {
    name: 'introspect-nested',
    description:
      "Paolo Bonzini's question: the introspector is itself a QEMU whose guest maps the mirror through a memslot. While the source guest writes, the introspector reads the mirror and its guest reads through its own EPT, kswapd reclaims the source page; the invalidation must reach the nested EPT (source → mirror → introspector KVM) before the page is freed.",
    pages: 1,
    sourceKvm: true,
    introspectorKvm: true,
    actors: [
      { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 0x200 }] },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
      { name: 'nested', ops: [{ op: 'guest-access', vm: 'introspector', page: 0 }] },
      { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
    ],
  },
  {
    name: 'cow',
    description:
      'The source forks (write-protecting its pages with a PROTECTION_PAGE invalidation) and then writes its page, breaking COW onto a new page (a CLEAR invalidation), while the introspector reads through the mirror: the mirror must never keep the pre-COW page or a writable mapping of the shared one (INV-6, INV-7).',
    pages: 1,
    actors: [
      {
        name: 'source',
        ops: [
          { op: 'fork', mm: 'source' },
          { op: 'access', mm: 'source', page: 0, write: true, value: 0x300 },
        ],
      },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
    ],
  },
  {
    name: 'munmap',
    description:
      'The source unmaps its page (an UNMAP invalidation, pages freed after the TLB flush) while the introspector faults on the mirror: afterwards the mirror must map nothing, and the fault must not pick up the page on its way out.',
    pages: 1,
    actors: [
      { name: 'source', ops: [{ op: 'munmap', mm: 'source', page: 0 }] },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
    ],
  },
  {
    name: 'exit',
    description:
      'The source process exits (mmu_notifier_release, then unmap of everything) while the introspector faults on the mirror: no mapping may be established after release and none may survive the free (INV-8, INV-9).',
    pages: 1,
    actors: [
      { name: 'source', ops: [{ op: 'exit', mm: 'source' }] },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
    ],
  },
  {
    name: 'fork-introspector',
    description:
      'The introspector maps the page through the mirror and forks (R7): a child that inherited mirror ptes the device does not track would keep the page after kswapd reclaims it. VM_DONTCOPY must keep the mirror out of the child.',
    pages: 1,
    actors: [
      {
        name: 'intro',
        ops: [
          { op: 'access', mm: 'introspector', page: 0 },
          { op: 'fork', mm: 'introspector' },
        ],
      },
      { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
    ],
  },
  {
    name: 'swap-cycle',
    description:
      'kswapd reclaims the source page to swap and the source faults it back in (a new page, installed with no invalidation) while the introspector reads through the mirror: the mirror must follow the page out and in again.',
    pages: 1,
    actors: [
      { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
      { name: 'source', ops: [{ op: 'access', mm: 'source', page: 0 }] },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
    ],
  },
  {
    name: 'mirror-write',
    description:
      'The introspector reads the page through the mirror, then writes it, while the source forks (write-protecting the page, now shared with the child). The write must not simply upgrade the read-only mirror pte: it has to go back to the source, break COW there and map the new page (vm_ops->pfn_mkwrite; INV-7, R8).',
    pages: 1,
    actors: [
      { name: 'source', ops: [{ op: 'fork', mm: 'source' }] },
      {
        name: 'intro',
        ops: [
          { op: 'access', mm: 'introspector', page: 0 },
          { op: 'access', mm: 'introspector', page: 0, write: true, value: 0x500 },
        ],
      },
    ],
  },
  {
    name: 'mprotect',
    description:
      'The source makes its page read-only (a PROTECTION_VMA invalidation) while the introspector writes through the mirror: no mirror pte may stay writable over a read-only source pte (INV-7).',
    pages: 1,
    actors: [
      { name: 'source', ops: [{ op: 'mprotect-readonly', mm: 'source', page: 0 }] },
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0, write: true, value: 0x400 }] },
    ],
  },
];

export function scenarioByName(name: string): ScenarioSpec | undefined {
  return CATALOGUE.find((s) => s.name === name);
}
