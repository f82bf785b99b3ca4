/**
 * Several designs in one world: `--variant A+B` runs design A's device and design B's device side
 * by side on the same source mm — two secondary MMUs subscribed to one process, as a GPU userptr
 * and a grant-mapping driver are in Xen's gntdev/i915 deadlock (B-25), or a KVM and a device are in
 * B-03. Each design keeps its own device object, its own VMA in the introspector (device i shows the
 * source's pages at introspector page i × pages) and its own notifier slots and update lock; a
 * scenario's `access` names the device (`device: i`, default 0).
 *
 * A combined design is a design like any other for the rest of the pipeline (cells, schedules,
 * replay, reports): its name is the designs' joined by `+`, its library uses theirs, and its
 * `.mmap` for device i is design i's.
 */
import { Library } from '../world/registry.js';
import type { MirrorVariant } from './device.js';
import type { World } from '../world/world.js';

/** The largest number of devices one world holds (the introspector's VMAs: see scenario/build.ts). */
export const MAX_DEVICES = 4;

/** `designs` side by side, device i being designs[i]; a single design is itself. */
export function combineDesigns(designs: readonly MirrorVariant[]): MirrorVariant {
  if (designs.length === 1) return designs[0];
  if (designs.length < 1 || designs.length > MAX_DEVICES) throw new RangeError(`a world holds 1..${MAX_DEVICES} devices, got ${designs.length}`);
  const nested = designs.find((d) => d.devices);
  if (nested) throw new RangeError(`design ${nested.name} is already a combination; list its designs instead`);
  // Libraries have lower-case names of letters, digits and dashes (registry.ts).
  const library = new Library(`combined-${designs.map((d) => d.library.name).join('-and-')}`, [...new Set(designs.map((d) => d.library))]);
  const first = designs[0];
  return Object.freeze({
    name: designs.map((d) => d.name).join('+'),
    summary: designs.map((d, i) => `device ${i}: ${d.summary}`).join('; '),
    reproduces: [...new Set(designs.flatMap((d) => d.reproduces))],
    vmaFlags: first.vmaFlags,
    fault: first.fault,
    library,
    routines: [...new Set(designs.flatMap((d) => d.routines))], // a design twice has its routines once
    needs: {
      intervalNotifier: designs.some((d) => d.needs.intervalNotifier),
      mmuNotifier: designs.some((d) => d.needs.mmuNotifier),
      hmm: designs.some((d) => d.needs.hmm),
    },
    attach: (w: World, dev: number) => designs[dev].attach(w, dev),
    // Checked in every world of the combination (the builder adds each design's state for its device).
    properties: designs.flatMap((d) => d.properties ?? []),
    balanced: designs.flatMap((d) => d.balanced ?? []),
    devices: designs,
  });
}

/** The designs of a world's devices, in device order. */
export function devicesOf(design: MirrorVariant): readonly MirrorVariant[] {
  return design.devices ?? [design];
}
