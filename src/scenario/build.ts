/**
 * Builds a world from a scenario and a mirror variant: the topology (source mm with its pages
 * faulted in and optionally its KVM; the introspector with the mirror VMA and optionally its KVM
 * backed by the mirror through a memslot; a spare mm for fork), the initial subscriptions, and one
 * actor per workload entry.
 */
import { SRCU } from '../kernel/lifetime.js';
import type { World } from '../world/world.js';
import { buildWorld } from '../kernel/topology.js';
import { addVma, populateAnon } from '../kernel/setup.js';
import { declareMemfd, mapMemfdIntrospector, mapMemfdSource, memfdContext, memfdGeometry } from './memfd.js';
import { MM } from '../kernel/structs.js';
import { actsOn, anyOperations, childFields, fieldsOf, MM_NAMES, opCall, operationNamed, threadOf, type CallContext, type MmName, type VmName } from './operations.js';
import { declareKvms, setupKvms, type KvmSpec } from '../kvm/topology.js';
import { MIRROR, mirrorMmap, type MirrorVariant } from '../mirror/device.js';
import { devicesOf } from '../mirror/combined.js';
import type { ActorSpec, ScenarioSpec } from './spec.js';
import type { ActorRole, StructDef } from '../world/layout.js';
import { MAX_PAGES, pageFrames } from './bounds.js';
import { WORKLOAD_LIB, anyWorkload, setAnyPrograms, setPrograms, workload, type AnyProgram } from './workload.js';
import { KVM_LIB } from '../kvm/library.js';
import { setFaults } from '../world/faults.js';
import { hasLayer, setLayers } from '../world/layers.js';
import { CPU_TLB_LAYER, declareTlb } from '../kernel/tlb.js';
import { driverOperation } from '../driver/operations.js';
import { compileOutcomes, probeCount } from './outcome.js';
import { PROBE } from './probes.js';
import { addPinHolders } from './pins.js';
import { reserveZeroPage } from '../kernel/zero-page.js';

export { MM_NAMES };
const SOURCE = 0;
const INTROSPECTOR = 1;
const CHILD = 2;
/** Mirror devices: the introspector opens one. */
/** Where the mirror VMA starts in the introspector. */
const MIRROR_START = 0;
/** Source page contents before any write: recognisable in traces. */
export const initialContents = (page: number) => 0x100 + page;

export interface BuiltScenario {
  readonly world: World;
  readonly spec: ScenarioSpec;
  readonly variant: MirrorVariant;
}

/**
 * Call frames per actor. The deepest path from a CPU access took 16 (now one more: the fault path
 * has a routine per C function, handle_mm_fault → handle_pte_fault → …; two are kept spare for the
 * random paths of the build fuzz test): the workload, cpu_access,
 * handle_mm_fault on the introspector, the mirror's fault, hmm_range_unregister (2019 seed), its
 * mmput of the source running exit_mmap (the source exited meanwhile), unmap_vmas, the source's
 * invalidate_range_start, the mirror's callback (through hmm's for the seed), the zap of the mirror
 * VMA (three frames), the introspector's invalidate_range_start and its KVM's callback. A guest
 * access to the introspector's KVM enters the same path through guest_access,
 * kvm_tdp_page_fault, hva_to_pfn and get_user_pages_remote instead of cpu_access: three frames
 * more, and one to spare (the bounds test reaches 18 with the corrected design).
 */
const STACK_DEPTH = 18;
const NESTED_GUEST_FRAMES = 4;

function stackDepth(spec: ScenarioSpec): number {
  const nested = spec.actors.some((a) => a.ops.some((op) => fieldsOf(op).some((f) => f.def.kind === 'vm' && f.value === 'introspector')));
  return STACK_DEPTH + (nested ? NESTED_GUEST_FRAMES : 0);
}

/** A client if it accesses memory (it must complete once the adversaries stop), else an adversary. */
function roleOf(actor: ActorSpec): ActorRole {
  return actor.ops.some((o) => operationNamed(o.op)!.accessesMemory) ? 'client' : 'adversary';
}

/**
 * The actors that are threads of the fork child (they name its mm and do not fork themselves):
 * started when fork returns, not before. An actor that forks and then acts on the child's mm is
 * the parent doing so, and starts with the others.
 */
function childActorsOf(spec: ScenarioSpec): number[] {
  const forks = (a: ActorSpec) => a.ops.some((o) => operationNamed(o.op)!.createsChild);
  return spec.actors.flatMap((a, i) => (a.ops.some((o) => childFields(o).length > 0) && !forks(a) ? [i] : []));
}

/** The scenario has a child mm: some operation creates it or names it. */
function usesFork(spec: ScenarioSpec): boolean {
  return spec.actors.some((a) => a.ops.some((o) => operationNamed(o.op)!.createsChild || childFields(o).length > 0));
}

/**
 * The mm each device's file is bound to (dmirror_fops_open: current->mm): the source's, opened at
 * set-up; or, for a device the scenario's device operations name with `mm: child`, the fork
 * child's — which exists only once fork has run, so the child opens it (its driver's open
 * operation). A device named with both is an error naming it.
 */
function deviceMms(spec: ScenarioSpec, devices: number): number[] {
  const named = new Map<number, MmName>();
  for (const op of spec.actors.flatMap((a) => a.ops)) {
    if (op.op !== 'device') continue;
    const dev = op.device ?? 0;
    const mm = op.mm ?? 'source';
    const before = named.get(dev);
    if (before !== undefined && before !== mm) throw new Error(`scenario ${spec.name}: device ${dev} is named with mm ${before} and with mm ${mm}; a device's file belongs to one process`);
    named.set(dev, mm);
  }
  return Array.from({ length: devices }, (_, dev) => (named.get(dev) === 'child' ? CHILD : SOURCE));
}

/** Each driver struct the devices' designs declare, with the most objects any of them wants per device. */
function driverStructs(designs: readonly MirrorVariant[]): Map<StructDef, number> {
  const out = new Map<StructDef, number>();
  for (const d of designs) for (const st of d.state ?? []) out.set(st.struct, Math.max(out.get(st.struct) ?? 0, st.count));
  return out;
}

/**
 * An `any` adversary's choices: every operation it may run, with the rules that bound it — less
 * what the kernel cannot do beside the other actors (the loader's exit rule, load.ts): an exit of a
 * process another actor runs a thread of, or an operation of a process another actor exits.
 */
function anyProgram(any: NonNullable<ActorSpec['any']>, at: CallContext, others: readonly ActorSpec[]): AnyProgram {
  const threads = new Set(others.flatMap((a) => (a.any ? anyOperations(a.any) : a.ops).map(threadOf)));
  const exited = new Set(others.flatMap((a) => a.ops.filter((op) => operationNamed(op.op)!.endsMm).map(threadOf)));
  const possible = anyOperations(any).filter((op) => {
    const mm = threadOf(op);
    return mm === undefined || (!exited.has(mm) && !(operationNamed(op.op)!.endsMm && threads.has(mm)));
  });
  const choices = possible.map((op) => {
    const entry = operationNamed(op.op)!;
    return { call: opCall(op, at), mm: at.mm(actsOn(op)), ends: entry.endsMm === true, once: entry.oncePerMm === true };
  });
  return { ops: any.ops, choices };
}

export function buildScenario(spec: ScenarioSpec, variant: MirrorVariant): BuiltScenario {
  const P = spec.pages;
  // The loader's bound (schema.json); a spec written in code gets the same one, before any step can crash.
  if (!(Number.isInteger(P) && P >= 1 && P <= MAX_PAGES)) throw new RangeError(`scenario ${spec.name}: pages ${P}; the model builds 1..${MAX_PAGES} pages (src/scenario/bounds.ts)`);
  const mms = usesFork(spec) ? MM_NAMES : MM_NAMES.slice(0, 2);
  const kvms: KvmSpec[] = [];
  const invalidateSeqStart = spec.kvm?.invalidateSeqStart ?? 0;
  const memslotPages = spec.kvm?.memslotPages ?? P;
  const memslots = (hva: number) => (memslotPages > 0 ? [{ baseGfn: 0, npages: memslotPages, hva }] : []);
  if (spec.sourceKvm) kvms.push({ name: 'kvm-source', mm: SOURCE, gfns: P, memslots: memslots(0), invalidateSeqStart });
  if (spec.introspectorKvm) kvms.push({ name: 'kvm-introspector', mm: INTROSPECTOR, gfns: P, memslots: memslots(MIRROR_START), invalidateSeqStart });
  // The actors that run a vCPU of each KVM: those with a guest access on it.
  for (const [i, k] of kvms.entries()) {
    const vm = k.name.slice('kvm-'.length);
    kvms[i] = { ...k, vcpus: spec.actors.flatMap((a, n) => (a.ops.some((o) => o.op === 'guest-access' && o.vm === vm) ? [n] : [])) };
  }
  const anyOp = (what: 'usesGpc' | 'updatesMemslots') => spec.actors.some((a) => a.ops.some((o) => operationNamed(o.op)![what]));
  const kvmUses: { gpc: boolean; memslotUpdates: boolean; srcu?: number } = { gpc: anyOp('usesGpc'), memslotUpdates: anyOp('updatesMemslots') };
  const kvmIndex = (vm: VmName) => {
    const i = kvms.findIndex((k) => k.name === `kvm-${vm}`);
    if (i < 0) throw new Error(`scenario ${spec.name}: guest-access on ${vm} but the scenario has no ${vm} KVM`);
    return i;
  };
  const childActors = childActorsOf(spec);
  const designs = devicesOf(variant);
  /** `device`, checked: a scenario naming a device the design lacks cannot be built (variantsFor leaves it out). */
  const deviceOf = (device: number): number => {
    if (device >= designs.length) throw new Error(`scenario ${spec.name}: device ${device} but design ${variant.name} has ${designs.length} device${designs.length === 1 ? '' : 's'}`);
    return device;
  };
  // `memory: memfd`: the source's pages are a memfd's, which the introspector maps too (memfd.ts).
  const memfd = spec.memory === 'memfd' ? memfdGeometry(spec, designs.length) : undefined;
  const at: CallContext = {
    ...(memfd ? { memfd: memfdContext(memfd) } : {}),
    mm: (name: MmName) => MM_NAMES.indexOf(name),
    // The introspector's pages are the mirror VMAs': device i's from MIRROR_START + i × P.
    vpn: (name: MmName, page: number, device = 0) => {
      const d = deviceOf(device);
      return name === 'source' ? page : MIRROR_START + d * P + page;
    },
    kvm: kvmIndex,
    driverOperation: (name, device) => driverOperation(designs[deviceOf(device)], name, spec.name),
  };
  const mirrorMn = kvms.length; // classic notifier slots: one per KVM, then one per device
  const world = buildWorld(
    {
      pages: pageFrames(P) + (spec.layers?.includes('zero-page') ? 1 : 0), // the zero page's frame
      mmPages: P * designs.length + (memfd ? P : 0), // the introspector holds one mirror VMA of P pages per device (and its memfd mapping after them)
      mms,
      vmasPerMm: Math.max(2, designs.length + (memfd ? 1 : 0)),
      swapSlots: P,
      mmuNotifiers: kvms.length + designs.length,
      intervalNotifiers: designs.length,
      hmmMirrors: designs.length,
      hmmRanges: spec.actors.length, // one on-stack struct hmm_range per faulting task
      locks: designs.map((_, i) => (i === 0 ? 'mirror.update' : `mirror${i}.update`)),
      actors: spec.actors.map((a) => a.name),
      stackDepth: stackDepth(spec),
      libraries: [WORKLOAD_LIB, KVM_LIB, variant.library],
      roles: spec.actors.map(roleOf),
    },
    (layout) => {
      setLayers(layout, spec.layers ?? []); // before the KVMs: a layer may give them more objects (kvm-tlb)
      declareKvms(layout, kvms, kvmUses);
      if (memfd) declareMemfd(layout, memfd);
      layout.add(
        MIRROR,
        designs.length,
        designs.map((_, i) => (i === 0 ? 'mirror' : `mirror${i}`)),
      );
      // The drivers' own objects (DriverSpec.state): `count` per device, device d's from d * count.
      // A KVM whose memslots change has an srcu_struct (kvm->srcu): after the drivers' ones.
      const structs = driverStructs(designs);
      const kvmSrcu = kvmUses.memslotUpdates ? kvms.length : 0;
      if (kvmSrcu && !structs.has(SRCU)) structs.set(SRCU, 0);
      for (const [struct, count] of structs) {
        const own = count * designs.length;
        if (struct === SRCU) kvmUses.srcu = own;
        layout.add(struct, own + (struct === SRCU ? kvmSrcu : 0));
      }
      // The kernel era's own objects (EraState): `count` in the world.
      for (const st of variant.eraState ?? []) layout.add(st.struct, st.count);
      // The child process's threads start when the operation that creates the child returns, not before.
      setFaults(layout, spec.faults ?? []);
      if (hasLayer(layout, CPU_TLB_LAYER)) declareTlb(layout);
      // The expected outcomes observed at named points (src/scenario/outcome.ts): ghost, only when stated.
      // gup_test's pinned pages (src/scenario/pins.ts): only when some actor pins.
      if (spec.actors.some((a) => a.ops.some((o) => o.op === 'pin' || o.op === 'unpin'))) addPinHolders(layout, mms.length);
      const probes = probeCount(spec);
      if (probes > 0) layout.add(PROBE, probes);
      setPrograms(
        layout,
        spec.actors.map((a) => a.ops.map((op) => (operationNamed(op.op)!.createsChild ? { ...opCall(op, at), spawns: childActors } : opCall(op, at)))),
      );
      setAnyPrograms(
        layout,
        spec.actors.map(
          (a) =>
            a.any &&
            anyProgram(
              a.any,
              at,
              spec.actors.filter((o) => o !== a),
            ),
        ),
      );
    },
  );
  compileOutcomes(spec, at, world.layout, variant.name);
  // A mutant of the design (src/check/mutate.ts): its plan is consulted from the driver's .mmap on.
  world.mutation = variant.mutation ?? null;
  if (mms.length > CHILD) {
    // The fork child's mm exists only once fork() fills it in.
    const child = world.obj(MM, CHILD);
    child.users = 0;
    child.count = 0;
  }
  if (memfd) mapMemfdSource(world, memfd, initialContents);
  else {
    addVma(world, SOURCE, { start: 0, end: P });
    for (let page = 0; page < P; page++) populateAnon(world, SOURCE, page, initialContents(page));
  }
  reserveZeroPage(world); // with the zero-page layer: a frame after the source's pages
  for (const st of variant.eraState ?? []) st.init?.(world);
  const devMms = deviceMms(spec, designs.length);
  designs.forEach((design, dev) => {
    mirrorMmap(world, dev, design, {
      srcMm: devMms[dev],
      srcStart: 0,
      npages: P,
      intrMm: INTROSPECTOR,
      intrStart: MIRROR_START + dev * P,
      lock: dev,
      sub: dev,
      mn: mirrorMn + dev,
      hmirror: dev,
      opened: devMms[dev] === SOURCE,
    });
    for (const st of design.state ?? []) st.init?.(world, dev);
  });
  if (memfd) mapMemfdIntrospector(world, memfd); // after the mirror VMAs: theirs are the first slots
  setupKvms(world, kvms, 0, kvmUses);
  spec.actors.forEach((actor, a) => {
    if (!childActors.includes(a)) world.spawn(a, actor.any ? anyWorkload : workload, []);
  });
  return { world, spec, variant };
}
