/**
 * The scenario operations, defined once. Each entry gives an operation's name (as files spell it),
 * a one-line description, its fields with their kinds, and the routine call an actor makes for
 * it. Everything else is derived from this table:
 *   - the `Op` type (re-exported by spec.ts);
 *   - the builder's dispatch (build.ts: `opCall`);
 *   - the loader's checks beyond the schema (load.ts): per field kind (a page below `pages`, a
 *     range ending by `pages`, a KVM the scenario has, a child mm that some fork creates) and
 *     per operation (at most one operation that creates the child);
 *   - the operations and field kinds of schema.json, written by `npx tsx scripts/scenario-schema.ts`
 *     (test/scenario/operations.test.ts fails while the file and the table differ).
 *
 * Adding an operation: its routine (src/kernel/ops/…), one entry in OPERATIONS, then the script.
 */
import { cpuAccess } from '../kernel/ops/access.js';
import { madviseDontneed } from '../kernel/ops/madvise.js';
import { vmMunmap } from '../kernel/ops/munmap.js';
import { doMprotectPkey } from '../kernel/ops/mprotect.js';
import { vmMmapPgoff } from '../kernel/ops/mmap.js';
import { PROT_NONE, PROT_READ, PROT_WRITE } from '../kernel/flags.js';
import { dupMmap } from '../kernel/ops/fork.js';
import { mmput } from '../kernel/ops/exit.js';
import { oomReapTaskMm } from '../kernel/ops/oom.js';
import { guestAccess } from '../kvm/guest.js';
import { gpcUse, kvmGpcRefresh } from '../kvm/gpc.js';
import { kvmDeleteMemslot, kvmMoveMemslot, kvmSetMemslot } from '../kvm/memslot.js';
import { kvmGetDirtyLog, kvmSetMemslotFlags } from '../kvm/dirty-log.js';
import { MAX_PAGES } from './bounds.js';
import { MAX_DEVICES } from '../mirror/combined.js';
import { ageAt, migrateAt, reclaimAt, type OpCall } from './workload.js';
import { shmemFallocatePunchHole, shmemSetattr } from '../kernel/truncate.js';
import type { KernelLayer, MemoryKind } from './spec.js';
import type { AnyRoutine } from '../world/routine.js';
import { pinLongtermTestStart, pinLongtermTestStop } from './pins.js';

// ---------------------------------------------------------------------------------------------
// Field kinds

/** The processes of a scenario, in mm index order. */
export const MM_NAMES = ['source', 'introspector', 'child'] as const;
/** Which process an operation acts on. */
export type MmName = (typeof MM_NAMES)[number];
/** The processes that can fork: the `child` mm is what fork creates. */
export const PARENT_NAMES = ['source', 'introspector'] as const;
export type ParentName = (typeof PARENT_NAMES)[number];
/** The KVM guests a scenario may have. */
export const VM_NAMES = ['source', 'introspector'] as const;
/** Which KVM guest. */
export type VmName = (typeof VM_NAMES)[number];

/** The scenario flag that gives each guest its KVM. */
export const KVM_FLAGS = { source: 'sourceKvm', introspector: 'introspectorKvm' } as const satisfies Record<VmName, string>;

/** What a field of each kind holds. */
export interface FieldKinds {
  readonly mm: MmName;
  readonly parent: ParentName;
  readonly vm: VmName;
  readonly page: number;
  readonly npages: number;
  readonly write: boolean;
  readonly value: number;
  readonly device: number;
  readonly call: string;
}
export type FieldKind = keyof FieldKinds;

/** What the loader's field checks see of the scenario around the operation. */
export interface ScenarioFacts {
  readonly pages: number;
  readonly sourceKvm?: boolean;
  readonly introspectorKvm?: boolean;
  /** How many operations create the `child` mm (fork). */
  readonly forks: number;
  /** What backs the source's pages (`memory:`; default anonymous). */
  readonly memory?: MemoryKind;
}

/** The JSON Schema of a field kind (its `$defs` entry in schema.json). */
export interface KindSchema {
  readonly description: string;
  readonly type: 'string' | 'integer' | 'boolean';
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
}

export interface KindDef<K extends FieldKind> {
  readonly schema: KindSchema;
  /**
   * The loader's check of a field of this kind beyond the schema (it needs the rest of the
   * scenario): what is wrong, as `found; expected`, or undefined.
   */
  readonly check?: (value: FieldKinds[K], op: Op, scenario: ScenarioFacts) => string | undefined;
}

/** `expected a page index 0..P-1 (pages: P)`: the page indices a scenario of `pages` pages has. */
export function pageRange(pages: number): string {
  return pages === 1 ? 'expected page index 0 (pages: 1)' : `expected a page index 0..${pages - 1} (pages: ${pages})`;
}

/** The field kinds, in the order schema.json's `$defs` lists them. */
export const FIELD_KINDS: { readonly [K in FieldKind]: KindDef<K> } = {
  mm: {
    schema: { description: 'Which process: the source, the introspector (its pages are the mirror) or the fork child.', type: 'string', enum: MM_NAMES },
    check: (mm, op, s) => {
      if (mm === 'child' && s.forks === 0) return 'the child mm is used but no actor forks; expected a fork op (of source or introspector) in some actor';
      // A device's file is the source's (the introspector opened it at set-up) or the fork child's.
      return op.op === 'device' && mm === 'introspector' ? 'a device file bound to the introspector; expected source (the default) or child' : undefined;
    },
  },
  parent: {
    schema: { description: 'Which process forks: the source or the introspector (the `child` mm is what fork creates).', type: 'string', enum: PARENT_NAMES },
  },
  vm: {
    schema: { description: 'Which KVM guest.', type: 'string', enum: VM_NAMES },
    check: (vm, op, s) => (s[KVM_FLAGS[vm]] ? undefined : `${op.op} on the ${vm} KVM, which the scenario does not have; expected ${KVM_FLAGS[vm]}: true`),
  },
  page: {
    schema: { description: "A page index, below the scenario's `pages`.", type: 'integer', minimum: 0, maximum: MAX_PAGES - 1 },
    check: (page, _op, s) => (page >= s.pages ? `${page} is out of range; ${pageRange(s.pages)}` : undefined),
  },
  npages: {
    schema: { description: "How many pages from `page` (default 1); page + pages must not exceed the scenario's `pages`.", type: 'integer', minimum: 1, maximum: MAX_PAGES },
    check: (n, op, s) => {
      const page = 'page' in op ? op.page : 0;
      // A page out of range is reported on `page` alone.
      return page < s.pages && page + n > s.pages ? `${n} pages from page ${page} run past the last page; expected at most ${s.pages - page} (pages: ${s.pages})` : undefined;
    },
  },
  write: {
    schema: { description: 'A store rather than a load (default false).', type: 'boolean' },
  },
  value: {
    schema: { description: 'The value stored by a write (a 32-bit signed integer; default 0).', type: 'integer', minimum: -2147483648, maximum: 2147483647 },
  },
  device: {
    schema: {
      description:
        'Which mirror device of the introspector, when designs run side by side (`--variant A+B`: device 0 is A, 1 is B; default 0). A design with fewer devices does not apply to the scenario.',
      type: 'integer',
      minimum: 0,
      maximum: MAX_DEVICES - 1,
    },
    check: (device, op) =>
      device > 0 && op.op === 'access' && op.mm !== 'introspector' ? `device ${device} on the ${op.mm} mm; expected a device only where the introspector's pages are named` : undefined,
  },
  call: {
    // Which names exist depends on the design (src/driver/operations.ts): the builder checks them.
    schema: { description: "An operation the design's driver declares (DriverSpec.operations).", type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
  },
};

// ---------------------------------------------------------------------------------------------
// Operations

/** One field of an operation: its kind, and whether a file may leave it out (its default then applies). */
export interface FieldDef {
  readonly kind: FieldKind;
  readonly optional?: boolean;
}
export type FieldDefs = { readonly [field: string]: FieldDef };

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The operation as a file writes it (and a ScenarioSpec holds it), from its entry's name and fields. */
export type OpOf<N extends string, F extends FieldDefs> = Simplify<
  { readonly op: N } & { readonly [K in keyof F as F[K] extends { optional: true } ? never : K]: FieldKinds[F[K]['kind']] } & {
    readonly [K in keyof F as F[K] extends { optional: true } ? K : never]?: FieldKinds[F[K]['kind']];
  }
>;

/** How an operation's call finds the world's objects. */
export interface CallContext {
  /** The mm index of a process. */
  mm(name: MmName): number;
  /** The vpn at which process `name` has page `page` (the introspector's pages are the mirror VMAs': device `device`'s, default 0). */
  vpn(name: MmName, page: number, device?: number): number;
  /** The KVM index of a guest. */
  kvm(name: VmName): number;
  /** The routine of driver operation `name` of device `device`'s design (src/driver/operations.ts). */
  driverOperation?(name: string, device: number): AnyRoutine;
  /** The scenario's memfd (`memory: memfd`), if it has one. */
  readonly memfd?: MemfdContext;
}

/** Where a scenario's memfd is: its address_space, and each process's MAP_SHARED mapping of it. */
export interface MemfdContext {
  /** Its address_space index (src/kernel/filemap.ts). */
  readonly mapping: number;
  /** The vpn at which process `name` maps page `page` of the memfd. */
  vpn(name: MmName, page: number): number;
}

/** The scenario's memfd, or an error naming the operation that needs it (the loader refuses such a file first). */
function memfdOf(at: CallContext, op: string): MemfdContext {
  if (!at.memfd) throw new Error(`${op}: the scenario has no memfd; expected memory: memfd`);
  return at.memfd;
}

export interface Operation<N extends string = string, F extends FieldDefs = FieldDefs> {
  /** The name files use: `op: <name>`. */
  readonly name: N;
  /** One line: what the operation does (its description in schema.json). */
  readonly description: string;
  /** The fields besides `op`, in the order schema.json lists them. */
  readonly fields: F;
  /** The operation creates the `child` mm (fork): a scenario has at most one. */
  readonly createsChild?: boolean;
  /**
   * An access to memory (through the CPU or a guest): an actor that runs one is a *client* of the
   * termination check (it must complete once the core-mm operations stop); an actor that runs only
   * core-mm operations is an *adversary* (src/world/layout.ts ActorRole).
   */
  readonly accessesMemory?: boolean;
  /** The operation uses its KVM's gfn→pfn cache: the scenario's KVMs get one (src/kvm/gpc.ts). */
  readonly usesGpc?: boolean;
  /** The operation changes its KVM's memslots: the scenario's KVMs get a spare one (src/kvm/memslot.ts). */
  readonly updatesMemslots?: boolean;
  /** The process ends (its last mmput): nothing acts on its mm after it, and it ends once (the `any` adversary's rule). */
  readonly endsMm?: boolean;
  /** At most once per mm (the OOM reaper reaps a victim once): the `any` adversary's rule. */
  readonly oncePerMm?: boolean;
  /** The operation acts on the scenario's memfd: it needs `memory: memfd` (and an `any` adversary does not choose it). */
  readonly usesMemfd?: boolean;
  /**
   * Not run by a thread of the process its mm field names (the loader's exit rule, load.ts): a
   * kernel thread's (the OOM reaper), or a device file's operation — its file may have been
   * passed to another process, and its release runs in do_exit's exit_files, after exit_mm.
   */
  readonly notAThreadOfMm?: boolean;
  /** The kernel layer the operation needs (the scenario's `layers` must list it); never one of the `any` adversary's. */
  readonly needsLayer?: KernelLayer;
  /** The routine call an actor makes for the operation, with its label for listings and traces. */
  call(op: OpOf<N, F>, at: CallContext): OpCall;
}

function operation<const N extends string, const F extends FieldDefs>(def: Operation<N, F>): Operation<N, F> {
  return def;
}

/** A page range [page, page + pages) of a process, as the three arguments of munmap and friends. */
function range(at: CallContext, op: { readonly mm: MmName; readonly page: number; readonly pages?: number }): number[] {
  const start = at.vpn(op.mm, op.page);
  return [at.mm(op.mm), start, start + (op.pages ?? 1)];
}

const mmRange = { mm: { kind: 'mm' }, page: { kind: 'page' }, pages: { kind: 'npages', optional: true } } as const;
const loadStore = { write: { kind: 'write', optional: true }, value: { kind: 'value', optional: true } } as const;

/** Every operation, in the order schema.json and messages list them. */
export const OPERATIONS = [
  operation({
    name: 'access',
    accessesMemory: true,
    description: "A user load/store by the process on one of its pages (the mirror, for the introspector: device `device`'s).",
    fields: { mm: { kind: 'mm' }, page: { kind: 'page' }, ...loadStore, device: { kind: 'device', optional: true } },
    call: (op, at) => {
      const vpn = at.vpn(op.mm, op.page, op.device);
      return { label: `${op.write ? 'write' : 'read'}(${op.mm}@${vpn})`, routine: cpuAccess, args: [at.mm(op.mm), vpn, op.write ? 1 : 0, op.value ?? 0] };
    },
  }),
  operation({
    name: 'guest-access',
    accessesMemory: true,
    description: "A guest load/store through the KVM's EPT (gfn = page); needs sourceKvm or introspectorKvm.",
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' }, ...loadStore },
    call: (op, at) => ({
      label: `guest-${op.write ? 'write' : 'read'}(${op.vm}:gfn${op.page})`,
      routine: guestAccess,
      args: [at.kvm(op.vm), op.page, op.write ? 1 : 0, op.value ?? 0],
    }),
  }),
  operation({
    name: 'gpc-refresh',
    accessesMemory: true,
    usesGpc: true,
    description: 'KVM refreshes its gfn→pfn cache to translate gfn = page (kvm_gpc_refresh, as kvm_gpc_activate or a Xen hypercall does); needs sourceKvm or introspectorKvm.',
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `gpc-refresh(${op.vm}:gfn${op.page})`, routine: kvmGpcRefresh, args: [at.kvm(op.vm), op.page] }),
  }),
  operation({
    name: 'gpc-use',
    accessesMemory: true,
    usesGpc: true,
    description:
      "KVM loads/stores guest memory gfn = page through its gfn→pfn cache (kvm_gpc_check under gpc->lock, refreshing it when the check fails, as Xen's runstate update does); needs sourceKvm or introspectorKvm.",
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' }, ...loadStore },
    call: (op, at) => ({
      label: `gpc-${op.write ? 'write' : 'read'}(${op.vm}:gfn${op.page})`,
      routine: gpcUse,
      args: [at.kvm(op.vm), op.page, op.write ? 1 : 0, op.value ?? 0],
    }),
  }),
  operation({
    name: 'set-memslot',
    updatesMemslots: true,
    description:
      "KVM_SET_USER_MEMORY_REGION adds a memslot mapping gfns [page, page + pages) to the VMM's pages of the same numbers (kvm_set_memslot: published once no invalidation is active); needs sourceKvm or introspectorKvm.",
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' }, pages: { kind: 'npages', optional: true } },
    call: (op, at) => ({ label: `set-memslot(${op.vm}:gfn${op.page}+${op.pages ?? 1})`, routine: kvmSetMemslot, args: [at.kvm(op.vm), op.page, op.pages ?? 1] }),
  }),
  operation({
    name: 'delete-memslot',
    updatesMemslots: true,
    description:
      'KVM_SET_USER_MEMORY_REGION deletes the memslot covering gfn `page` (kvm_set_memslot KVM_MR_DELETE: made invalid, the grace period of the vCPUs using it, its sptes zapped, then removed: its gfns exit to MMIO); needs sourceKvm or introspectorKvm.',
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `delete-memslot(${op.vm}:gfn${op.page})`, routine: kvmDeleteMemslot, args: [at.kvm(op.vm), op.page] }),
  }),
  operation({
    name: 'move-memslot',
    updatesMemslots: true,
    description:
      'KVM_SET_USER_MEMORY_REGION moves the memslot covering gfn `page` to start at gfn `to`, its VMM pages kept (KVM_MR_MOVE: made invalid, the grace period, its sptes zapped, then published at the new gfns); needs sourceKvm or introspectorKvm.',
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' }, to: { kind: 'page' } },
    call: (op, at) => ({ label: `move-memslot(${op.vm}:gfn${op.page}→gfn${op.to})`, routine: kvmMoveMemslot, args: [at.kvm(op.vm), op.page, op.to] }),
  }),
  operation({
    name: 'device',
    accessesMemory: true,
    description:
      "An operation the design's driver declares (a device access, a job, an ioctl): its routine runs with (dev 0, page, write). `mm: child` makes the device the fork child's own file: bound to the child's mm, not opened at set-up but by the child (the driver's open operation) once fork has run.",
    fields: { call: { kind: 'call' }, page: { kind: 'page' }, write: { kind: 'write', optional: true }, device: { kind: 'device', optional: true }, mm: { kind: 'mm', optional: true } },
    notAThreadOfMm: true,
    call: (op, at) => {
      if (!at.driverOperation) throw new Error(`device operation "${op.call}": this world has no driver operations`);
      const dev = op.device ?? 0;
      return { label: `device-${op.call}(${dev ? `device ${dev}, ` : ''}${op.page}${op.write ? ', write' : ''})`, routine: at.driverOperation(op.call, dev), args: [dev, op.page, op.write ? 1 : 0] };
    },
  }),
  operation({
    name: 'reclaim',
    description: 'kswapd reclaims the page backing the source page to swap.',
    fields: { page: { kind: 'page' } },
    call: (op, at) => ({ label: `reclaim(source@${op.page})`, routine: reclaimAt, args: [at.mm('source'), at.vpn('source', op.page)] }),
  }),
  operation({
    name: 'migrate',
    description: 'kcompactd migrates the page backing the source page.',
    fields: { page: { kind: 'page' } },
    call: (op, at) => ({ label: `migrate(source@${op.page})`, routine: migrateAt, args: [at.mm('source'), at.vpn('source', op.page)] }),
  }),
  operation({
    name: 'madvise-dontneed',
    description: 'madvise(MADV_DONTNEED) on pages [page, page + pages).',
    fields: mmRange,
    call: (op, at) => ({ label: `madvise(${op.mm}@${op.page}, DONTNEED)`, routine: madviseDontneed, args: range(at, op) }),
  }),
  operation({
    name: 'munmap',
    description: 'munmap of pages [page, page + pages).',
    fields: mmRange,
    call: (op, at) => ({ label: `munmap(${op.mm}@${op.page})`, routine: vmMunmap, args: range(at, op) }),
  }),
  operation({
    name: 'mmap',
    description:
      'mmap of a new anonymous private read-write VMA over pages [page, page + pages), with no ptes (MAP_FIXED_NOREPLACE: the range a munmap freed, as the top-down allocator reuses it); -EEXIST while a VMA is still there.',
    fields: mmRange,
    call: (op, at) => ({ label: `mmap(${op.mm}@${op.page})`, routine: vmMmapPgoff, args: range(at, op) }),
  }),
  operation({
    name: 'mprotect-readonly',
    description: 'mprotect(PROT_READ) of pages [page, page + pages).',
    fields: mmRange,
    call: (op, at) => ({ label: `mprotect(${op.mm}@${op.page}, PROT_READ)`, routine: doMprotectPkey, args: [...range(at, op), PROT_READ] }),
  }),
  operation({
    name: 'mprotect-readwrite',
    description: 'mprotect(PROT_READ|PROT_WRITE) of pages [page, page + pages): VM_WRITE back; the ptes become writable at the next write fault.',
    fields: mmRange,
    call: (op, at) => ({ label: `mprotect(${op.mm}@${op.page}, PROT_READ|PROT_WRITE)`, routine: doMprotectPkey, args: [...range(at, op), PROT_READ | PROT_WRITE] }),
  }),
  operation({
    name: 'mprotect-none',
    description:
      'mprotect(PROT_NONE) of pages [page, page + pages): the VMA loses VM_READ and VM_WRITE, its ptes become protnone (every access faults and fails); mprotect-readonly or -readwrite makes them accessible again.',
    fields: mmRange,
    call: (op, at) => ({ label: `mprotect(${op.mm}@${op.page}, PROT_NONE)`, routine: doMprotectPkey, args: [...range(at, op), PROT_NONE] }),
  }),
  operation({
    name: 'fork',
    description: "fork(): the process's mm is duplicated into the `child` mm (at most one fork per scenario).",
    fields: { mm: { kind: 'parent' } },
    createsChild: true,
    call: (op, at) => ({ label: `fork(${op.mm})`, routine: dupMmap, args: [at.mm(op.mm), at.mm('child')] }),
  }),
  operation({
    name: 'exit',
    description: 'The process exits: its last mmput runs exit_mmap.',
    fields: { mm: { kind: 'mm' } },
    endsMm: true,
    call: (op, at) => ({ label: `exit(${op.mm})`, routine: mmput, args: [at.mm(op.mm)] }),
  }),
  operation({
    name: 'oom-reap',
    description: "The OOM reaper reaps the process's mm (non-blockable invalidation).",
    fields: { mm: { kind: 'mm' } },
    oncePerMm: true,
    notAThreadOfMm: true,
    call: (op, at) => ({ label: `oom_reap(${op.mm})`, routine: oomReapTaskMm, args: [at.mm(op.mm)] }),
  }),
  operation({
    name: 'memfd-access',
    accessesMemory: true,
    usesMemfd: true,
    description:
      "A user load/store by the process through its own MAP_SHARED mapping of the scenario's memfd (`memory: memfd`): the source's pages themselves, or the introspector's mapping beside its mirror (the fork child's is its parent's).",
    fields: { mm: { kind: 'mm' }, page: { kind: 'page' }, ...loadStore },
    call: (op, at) => {
      const vpn = memfdOf(at, op.op).vpn(op.mm, op.page);
      return { label: `memfd-${op.write ? 'write' : 'read'}(${op.mm}@${vpn})`, routine: cpuAccess, args: [at.mm(op.mm), vpn, op.write ? 1 : 0, op.value ?? 0] };
    },
  }),
  operation({
    name: 'ftruncate',
    usesMemfd: true,
    description:
      "ftruncate of the scenario's memfd to `page` pages (shmem_setattr: i_size first, then every mapping of the cut pages zapped under MMU_NOTIFY_CLEAR on its mm, the pages taken out of the page cache, and the mappings zapped again); needs memory: memfd.",
    fields: { page: { kind: 'page' } },
    call: (op, at) => ({ label: `ftruncate(memfd, ${op.page})`, routine: shmemSetattr, args: [memfdOf(at, op.op).mapping, op.page] }),
  }),
  operation({
    name: 'punch-hole',
    usesMemfd: true,
    description:
      'fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of memfd pages [page, page + pages) (shmem_fallocate: every mapping of the hole zapped under MMU_NOTIFY_CLEAR on its mm, then the pages taken out of the page cache; i_size kept); needs memory: memfd.',
    fields: { page: { kind: 'page' }, pages: { kind: 'npages', optional: true } },
    call: (op, at) => ({ label: `punch-hole(memfd@${op.page}+${op.pages ?? 1})`, routine: shmemFallocatePunchHole, args: [memfdOf(at, op.op).mapping, op.page, op.pages ?? 1] }),
  }),
  operation({
    name: 'enable-dirty-log',
    updatesMemslots: true,
    description:
      'KVM_SET_USER_MEMORY_REGION sets KVM_MEM_LOG_DIRTY_PAGES on the memslot covering gfn `page` (kvm_update_flags_memslot, then kvm_mmu_slot_apply_flags write-protects its sptes and flushes the TLBs); needs sourceKvm or introspectorKvm.',
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `enable-dirty-log(${op.vm}:gfn${op.page})`, routine: kvmSetMemslotFlags, args: [at.kvm(op.vm), op.page, 1] }),
  }),
  operation({
    name: 'disable-dirty-log',
    updatesMemslots: true,
    description: 'KVM_SET_USER_MEMORY_REGION clears KVM_MEM_LOG_DIRTY_PAGES on the memslot covering gfn `page` (its dirty bitmap freed); needs sourceKvm or introspectorKvm.',
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `disable-dirty-log(${op.vm}:gfn${op.page})`, routine: kvmSetMemslotFlags, args: [at.kvm(op.vm), op.page, 0] }),
  }),
  operation({
    name: 'get-dirty-log',
    updatesMemslots: true,
    description:
      "KVM_GET_DIRTY_LOG of the memslot covering gfn `page` (kvm_get_dirty_log_protect: harvest the bitmap and write-protect its sptes under mmu_lock, then flush the TLBs): returns the bitmap, bit i for the memslot's i-th gfn (-ENOENT if it does not log); needs sourceKvm or introspectorKvm.",
    fields: { vm: { kind: 'vm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `get-dirty-log(${op.vm}:gfn${op.page})`, routine: kvmGetDirtyLog, args: [at.kvm(op.vm), op.page] }),
  }),
  operation({
    name: 'age',
    needsLayer: 'dirty-accessed',
    description:
      "The aging walk (folio_referenced, as reclaim's folio_check_references runs it) on the page backing the process's page: clears the accessed bit of every pte mapping it and, through mmu_notifier_clear_flush_young, every secondary's (KVM's sptes); returns how many mappings were young. Needs layers: [dirty-accessed].",
    fields: { mm: { kind: 'mm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `age(${op.mm}@${op.page})`, routine: ageAt, args: [at.mm(op.mm), at.vpn(op.mm, op.page)] }),
  }),
  operation({
    name: 'pin',
    accessesMemory: true,
    description: "A long-term pin of the process's page (gup_test's PIN_LONGTERM_TEST_START: pin_user_pages with FOLL_LONGTERM, and FOLL_WRITE when `write`), held until `unpin`; returns 0 or -errno.",
    fields: { mm: { kind: 'mm' }, page: { kind: 'page' }, write: { kind: 'write', optional: true } },
    call: (op, at) => ({ label: `pin(${op.mm}@${op.page}${op.write ? ', write' : ''})`, routine: pinLongtermTestStart, args: [at.mm(op.mm), at.vpn(op.mm, op.page), op.write ? 1 : 0] }),
  }),
  operation({
    name: 'unpin',
    accessesMemory: true,
    description: 'Reads the page `pin` pinned through the pin, then unpins it (PIN_LONGTERM_TEST_READ, _STOP); returns the value read, or -EINVAL when nothing is pinned there.',
    fields: { mm: { kind: 'mm' }, page: { kind: 'page' } },
    call: (op, at) => ({ label: `unpin(${op.mm}@${op.page})`, routine: pinLongtermTestStop, args: [at.mm(op.mm), at.vpn(op.mm, op.page)] }),
  }),
] as const;

type Entry = (typeof OPERATIONS)[number];

/** An operation of an actor, as a file writes it: one alternative per entry of OPERATIONS. */
export type Op = Entry extends infer E ? (E extends { readonly name: infer N extends string; readonly fields: infer F extends FieldDefs } ? OpOf<N, F> : never) : never;
export type OpName = Op['op'];

/** The names of the operations, in table order. */
export const OP_NAMES: readonly OpName[] = OPERATIONS.map((o) => o.name);

const BY_NAME = new Map<string, Operation>(OPERATIONS.map((o) => [o.name, o as unknown as Operation]));

/** The table entry of an operation (undefined for a name that is none). */
export function operationNamed(name: string): Operation | undefined {
  return BY_NAME.get(name);
}

/** The fields of `op` with their definitions, in table order; fields a file left out are skipped. */
export function fieldsOf(op: Op): { readonly field: string; readonly def: FieldDef; readonly value: FieldKinds[FieldKind] }[] {
  const entry = BY_NAME.get(op.op)!;
  const values = op as unknown as Readonly<Record<string, FieldKinds[FieldKind] | undefined>>;
  return Object.entries(entry.fields).flatMap(([field, def]) => (values[field] === undefined ? [] : [{ field, def, value: values[field] }]));
}

/** What the loader finds wrong with the fields of `op`, by their kinds' checks: one problem per field at most. */
export function fieldProblems(op: Op, scenario: ScenarioFacts): { readonly field: string; readonly message: string }[] {
  return fieldsOf(op).flatMap(({ field, def, value }) => {
    const check = FIELD_KINDS[def.kind].check as KindDef<FieldKind>['check'];
    const message = check?.(value, op, scenario);
    return message ? [{ field, message }] : [];
  });
}

/** The fields of `op` that name the `child` mm. */
export function childFields(op: Op): string[] {
  return fieldsOf(op)
    .filter((f) => f.def.kind === 'mm' && f.value === 'child')
    .map((f) => f.field);
}

/** The routine call an actor makes for `op` (the builder's dispatch). */
export function opCall(op: Op, at: CallContext): OpCall {
  return BY_NAME.get(op.op)!.call(op as never, at);
}

// ---------------------------------------------------------------------------------------------
// The bounded "any operation" adversary

/** An actor that runs any sequence of at most `ops` core-mm operations over pages 0..pages-1 (a file's `any:`). */
export interface AnyOps {
  readonly ops: number;
  readonly pages: number;
  /** The operations it may choose from (default: every one of ANY_OP_NAMES). */
  readonly of?: readonly OpName[];
}

/** The field kinds an `any` adversary fills in by itself: the mm (the source or the introspector), a page, a page count. */
const ANY_KINDS: readonly FieldKind[] = ['mm', 'page', 'npages'];

/**
 * The operations an `any` adversary chooses from: the core-mm ones (no memory access, so it stays
 * an adversary of the termination check), whose fields it can fill in itself — not fork (a
 * scenario has one child mm, which the adversary would need to name after it exists), nor the
 * memfd's operations (only a `memory: memfd` scenario has one).
 */
export const ANY_OP_NAMES: readonly OpName[] = OPERATIONS.filter(
  (o: Operation) => !o.accessesMemory && !o.createsChild && !o.usesMemfd && !o.needsLayer && Object.values(o.fields).every((f) => ANY_KINDS.includes(f.kind)),
).map((o) => o.name);

/** The mms an `any` adversary acts on: not the fork child, which exists only once something forks. */
const ANY_MMS: readonly MmName[] = ['source', 'introspector'];

/** Every operation an `any` adversary may choose from, with its fields filled in every way over the first `any.pages` pages. */
export function anyOperations(any: AnyOps): Op[] {
  const n = any.pages;
  return (any.of ?? ANY_OP_NAMES).flatMap((name) => {
    let partial: Record<string, string | number>[] = [{ op: name }];
    for (const [field, def] of Object.entries(BY_NAME.get(name)!.fields)) {
      partial = partial.flatMap((op) => {
        if (def.kind === 'mm') return ANY_MMS.map((mm) => ({ ...op, [field]: mm }));
        if (def.kind === 'page') return Array.from({ length: n }, (_, page) => ({ ...op, [field]: page }));
        // npages: 1 (the default, left out) to the last page.
        return Array.from({ length: n - (op.page as number) }, (_, k) => (k === 0 ? op : { ...op, [field]: k + 1 }));
      });
    }
    return partial as unknown as Op[];
  });
}

/**
 * The process whose thread runs the operation (its `mm` or `parent` field), if one does: a CPU
 * access, madvise, munmap, mprotect, mmap, fork, exit. Not kernel threads (kswapd, kcompactd, the
 * OOM reaper), guests, or a device file's operations (`notAThreadOfMm`).
 */
export function threadOf(op: Op): MmName | undefined {
  if (operationNamed(op.op)!.notAThreadOfMm) return undefined;
  return fieldsOf(op).find((f) => f.def.kind === 'mm' || f.def.kind === 'parent')?.value as MmName | undefined;
}

/** The mm an operation acts on: its mm field, else the source (kswapd and kcompactd take the source's pages). */
export function actsOn(op: Op): MmName {
  return (fieldsOf(op).find((f) => f.def.kind === 'mm')?.value as MmName | undefined) ?? 'source';
}

/** How listings show an `any` adversary: `any of at most 2 operations over pages 0..0 (munmap, exit)`. */
export function anyText(any: AnyOps): string {
  return `any of at most ${any.ops} operation${any.ops === 1 ? '' : 's'} over pages 0..${any.pages - 1} (${(any.of ?? ANY_OP_NAMES).join(', ')})`;
}
