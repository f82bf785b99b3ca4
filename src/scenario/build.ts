/**
 * Builds a world from a scenario and a mirror variant: the topology (source mm with its pages
 * faulted in and optionally its KVM; the introspector with the mirror VMA and optionally its KVM
 * backed by the mirror through a memslot; a spare mm for fork), the initial subscriptions, and one
 * actor per workload entry.
 */
import type { World } from '../world/world.js';
import { buildWorld } from '../kernel/topology.js';
import { addVma, populateAnon } from '../kernel/setup.js';
import { MM } from '../kernel/structs.js';
import { cpuAccess } from '../kernel/ops/access.js';
import { madviseDontneed } from '../kernel/ops/madvise.js';
import { vmMunmap } from '../kernel/ops/munmap.js';
import { mprotectReadOnly } from '../kernel/ops/mprotect.js';
import { dupMmap } from '../kernel/ops/fork.js';
import { mmput } from '../kernel/ops/exit.js';
import { oomReapTaskMm } from '../kernel/ops/oom.js';
import { declareKvms, setupKvms, type KvmSpec } from '../kvm/topology.js';
import { guestAccess } from '../kvm/guest.js';
import { MIRROR, mirrorMmap, type MirrorVariant } from '../mirror/device.js';
import type { ActorSpec, Op, ScenarioSpec, MmName } from './spec.js';
import type { ActorRole } from '../world/layout.js';
import { WORKLOAD_LIB, migrateAt, reclaimAt, setPrograms, workload, type OpCall } from './workload.js';
import { KVM_LIB } from '../kvm/library.js';

export const MM_NAMES: readonly MmName[] = ['source', 'introspector', 'child'];
const SOURCE = 0;
const INTROSPECTOR = 1;
const CHILD = 2;
/** Where the mirror VMA starts in the introspector. */
const MIRROR_START = 0;
/** Source page contents before any write: recognisable in traces. */
export const initialContents = (page: number) => 0x100 + page;

export interface BuiltScenario {
  readonly world: World;
  readonly spec: ScenarioSpec;
  readonly variant: MirrorVariant;
}

function usesFork(spec: ScenarioSpec): boolean {
  return spec.actors.some((a) => a.ops.some((o) => o.op === 'fork' || ('mm' in o && o.mm === 'child')));
}

/**
 * An actor that accesses memory (through the CPU or a guest) is a client: it must complete once the
 * core-mm operations have stopped. An actor that only runs core-mm operations is an adversary.
 */
function roleOf(actor: ActorSpec): ActorRole {
  return actor.ops.some((o) => o.op === 'access' || o.op === 'guest-access') ? 'client' : 'adversary';
}

/**
 * The actors that are threads of the fork child (they name its mm and do not fork themselves):
 * started when fork returns, not before. An actor that forks and then acts on the child's mm is
 * the parent doing so, and starts with the others.
 */
function childActorsOf(spec: ScenarioSpec): number[] {
  return spec.actors.flatMap((a, i) => (a.ops.some((o) => 'mm' in o && o.mm === 'child') && !a.ops.some((o) => o.op === 'fork') ? [i] : []));
}

function mmIndexOf(name: MmName): number {
  return MM_NAMES.indexOf(name);
}

/** The vpn an op's `page` names in `mm`: the introspector's pages are the mirror VMA's. */
function vpnOf(mm: MmName, page: number): number {
  return mm === 'source' ? page : MIRROR_START + page;
}

function opCall(op: Op, kvmIndex: (vm: 'source' | 'introspector') => number): OpCall {
  const n = (p?: number) => p ?? 1;
  switch (op.op) {
    case 'access': {
      const mm = mmIndexOf(op.mm);
      const vpn = vpnOf(op.mm, op.page);
      const write = op.write ? 1 : 0;
      return { label: `${op.write ? 'write' : 'read'}(${op.mm}@${vpn})`, routine: cpuAccess, args: [mm, vpn, write, op.value ?? 0] };
    }
    case 'guest-access':
      return { label: `guest-${op.write ? 'write' : 'read'}(${op.vm}:gfn${op.page})`, routine: guestAccess, args: [kvmIndex(op.vm), op.page, op.write ? 1 : 0, op.value ?? 0] };
    case 'reclaim':
      return { label: `reclaim(source@${op.page})`, routine: reclaimAt, args: [SOURCE, op.page] };
    case 'migrate':
      return { label: `migrate(source@${op.page})`, routine: migrateAt, args: [SOURCE, op.page] };
    case 'madvise-dontneed':
      return { label: `madvise(${op.mm}@${op.page}, DONTNEED)`, routine: madviseDontneed, args: [mmIndexOf(op.mm), vpnOf(op.mm, op.page), vpnOf(op.mm, op.page) + n(op.pages)] };
    case 'munmap':
      return { label: `munmap(${op.mm}@${op.page})`, routine: vmMunmap, args: [mmIndexOf(op.mm), vpnOf(op.mm, op.page), vpnOf(op.mm, op.page) + n(op.pages)] };
    case 'mprotect-readonly':
      return { label: `mprotect(${op.mm}@${op.page}, PROT_READ)`, routine: mprotectReadOnly, args: [mmIndexOf(op.mm), vpnOf(op.mm, op.page), vpnOf(op.mm, op.page) + n(op.pages)] };
    case 'fork':
      return { label: `fork(${op.mm})`, routine: dupMmap, args: [mmIndexOf(op.mm), CHILD] };
    case 'exit':
      return { label: `exit(${op.mm})`, routine: mmput, args: [mmIndexOf(op.mm)] };
    case 'oom-reap':
      return { label: `oom_reap(${op.mm})`, routine: oomReapTaskMm, args: [mmIndexOf(op.mm)] };
  }
}

export function buildScenario(spec: ScenarioSpec, variant: MirrorVariant): BuiltScenario {
  const P = spec.pages;
  const mms = usesFork(spec) ? MM_NAMES : MM_NAMES.slice(0, 2);
  const kvms: KvmSpec[] = [];
  if (spec.sourceKvm) kvms.push({ name: 'kvm-source', mm: SOURCE, gfns: P, memslots: [{ baseGfn: 0, npages: P, hva: 0 }] });
  if (spec.introspectorKvm) kvms.push({ name: 'kvm-introspector', mm: INTROSPECTOR, gfns: P, memslots: [{ baseGfn: 0, npages: P, hva: MIRROR_START }] });
  const kvmIndex = (vm: 'source' | 'introspector') => {
    const i = kvms.findIndex((k) => k.name === `kvm-${vm}`);
    if (i < 0) throw new Error(`scenario ${spec.name}: guest-access on ${vm} but the scenario has no ${vm} KVM`);
    return i;
  };
  const childActors = childActorsOf(spec);
  const mirrorMn = kvms.length; // classic notifier slots: one per KVM, then the mirror's
  const world = buildWorld(
    {
      pages: 3 * P + 2,
      mmPages: P,
      mms,
      vmasPerMm: 2,
      swapSlots: P,
      mmuNotifiers: kvms.length + 1,
      intervalNotifiers: 1,
      hmmMirrors: 1,
      hmmRanges: spec.actors.length, // one on-stack struct hmm_range per faulting task
      locks: ['mirror.update'],
      actors: spec.actors.map((a) => a.name),
      stackDepth: 16, // the deepest path (vCPU COW with its invalidation chain) needs 14
      libraries: [WORKLOAD_LIB, KVM_LIB, variant.library],
      roles: spec.actors.map(roleOf),
    },
    (layout) => {
      declareKvms(layout, kvms);
      layout.add(MIRROR, 1, ['mirror']);
      // The child process's threads start when fork returns, not before.
      setPrograms(layout, spec.actors.map((a) => a.ops.map((op) => (op.op === 'fork' ? { ...opCall(op, kvmIndex), spawns: childActors } : opCall(op, kvmIndex)))));
    },
  );
  if (mms.length > CHILD) {
    // The fork child's mm exists only once fork() fills it in.
    const child = world.obj(MM, CHILD);
    child.users = 0;
    child.count = 0;
  }
  addVma(world, SOURCE, { start: 0, end: P });
  for (let page = 0; page < P; page++) populateAnon(world, SOURCE, page, initialContents(page));
  mirrorMmap(world, 0, variant, {
    srcMm: SOURCE,
    srcStart: 0,
    npages: P,
    intrMm: INTROSPECTOR,
    intrStart: MIRROR_START,
    lock: 0,
    sub: 0,
    mn: mirrorMn,
    hmirror: 0,
  });
  setupKvms(world, kvms, 0);
  spec.actors.forEach((_, a) => {
    if (!childActors.includes(a)) world.spawn(a, workload, []);
  });
  return { world, spec, variant };
}
