/**
 * Designs side by side (`--variant A+B`, src/mirror/combined.ts): each design has its own device,
 * VMA, notifier slots and update lock in one world; an `access` names the device. A single
 * design's world is unchanged; a scenario naming device 1 applies only to combinations.
 */
import { describe, expect, it } from 'vitest';
import { checkOne, variantsFor } from '../../src/check/run.js';
import { variantByName } from '../../src/mirror/variants.js';
import { combineDesigns, devicesOf } from '../../src/mirror/combined.js';
import { interval } from '../../src/mirror/interval.js';
import { startOnly } from '../../src/mirror/start-only.js';
import { buildScenario } from '../../src/scenario/build.js';
import { MIRROR } from '../../src/mirror/device.js';
import { MIN, MN } from '../../src/kernel/structs.js';
import { isNone } from '../../src/kernel/ref.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { parseScenario } from '../../src/scenario/load.js';

const loadScenarioText = (text: string) => parseScenario(text, 'x.yaml', 'yaml');

const introspect = scenarioByName('introspect')!;
/** The catalogue's `introspect`, its introspector reading through device `device`. */
function readingDevice(device: number): ScenarioSpec {
  return {
    ...introspect,
    name: `introspect-device-${device}`,
    actors: introspect.actors.map((a) => ({ ...a, ops: a.ops.map((op) => (op.op === 'access' && op.mm === 'introspector' ? { ...op, device } : op)) })),
  };
}

describe('designs side by side', () => {
  it('gives each design its own device, VMA, subscription and lock; device i shows the source at introspector page i × pages', () => {
    const both = combineDesigns([startOnly, interval]);
    expect(both.name).toBe('start-only+interval');
    const { world: w } = buildScenario(readingDevice(1), both);
    expect(w.count(MIRROR)).toBe(2);
    const [d0, d1] = [w.obj(MIRROR, 0), w.obj(MIRROR, 1)];
    expect([d0.lock, d1.lock]).toEqual([1, 2]);
    expect(isNone(w.obj(MN, 0).mm)).toBe(false); // start-only: a classic notifier
    expect(isNone(w.obj(MIN, 1).mm)).toBe(false); // interval: an interval notifier of its own
    expect(isNone(w.obj(MIN, 0).mm)).toBe(true);
  });

  it('checks the device the scenario reads through: the broken design is caught on device 0 and not on device 1', () => {
    const both = combineDesigns([startOnly, interval]);
    expect(checkOne(readingDevice(0), both).verdict).toBe('violation');
    expect(checkOne(readingDevice(1), both).verdict).toBe('holds');
    expect(checkOne(readingDevice(1), combineDesigns([interval, startOnly])).verdict).toBe('violation');
  }, 60_000);

  it('leaves a single design as it was: same world, same counts', () => {
    expect(combineDesigns([interval])).toBe(interval);
    expect(devicesOf(interval)).toEqual([interval]);
    const a = checkOne(introspect, interval);
    const b = checkOne(readingDevice(0), interval);
    expect({ states: b.states, transitions: b.transitions }).toEqual({ states: a.states, transitions: a.transitions });
  }, 60_000);

  it('a scenario naming device 1 applies only to designs with two devices or more', () => {
    const names = (s: ScenarioSpec) => variantsFor(s).map((v) => v.name);
    expect(names(readingDevice(0))).toContain('interval');
    const combined = variantByName('interval+start-only')!;
    expect(combined.name).toBe('interval+start-only');
    expect(variantByName('interval+start-only')).toBe(combined); // made once per run
    expect(names(readingDevice(1))).toEqual(['interval+start-only']);
    expect(variantByName('interval+no-such-design')).toBeUndefined();
    expect(variantByName('interval+interval+interval+interval+interval')).toBeUndefined();
    expect(() => combineDesigns([combined, interval])).toThrow(/already a combination/);
    // The same design twice: two devices, numbered in the summary, its routines listed once.
    const twice = combineDesigns([interval, interval]);
    expect(twice.summary).toMatch(/^device 0: .*; device 1: /);
    expect(twice.routines).toEqual(interval.routines);
  });

  it('the loader bounds a device and refuses one on a process other than the introspector', () => {
    const base = 'name: x\ndescription: y\npages: 1\nactors:\n  - name: a\n    ops:\n      - { op: access, mm: MM, page: 0, device: D }\n';
    expect(() => loadScenarioText(base.replace('MM', 'introspector').replace('D', '4'))).toThrow(/device: 4 is out of range; expected an integer 0\.\.3/);
    expect(() => loadScenarioText(base.replace('MM', 'source').replace('D', '1'))).toThrow(/device 1 on the source mm; expected a device only where the introspector's pages are named/);
    expect(loadScenarioText(base.replace('MM', 'introspector').replace('D', '1')).spec.actors[0].ops[0]).toEqual({ op: 'access', mm: 'introspector', page: 0, device: 1 });
  });
});
