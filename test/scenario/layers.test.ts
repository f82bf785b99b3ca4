/**
 * Kernel layers from scenario files: `layers: [cpu-tlb]` is read, deduplicated, checked against the
 * list the schema generates from, and reaches the built world (src/world/layers.ts); a name the
 * model does not have is refused with its position, never ignored.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { buildScenario } from '../../src/scenario/build.js';
import { variantByName } from '../../src/mirror/variants.js';
import { KERNEL_LAYERS } from '../../src/scenario/spec.js';
import { hasLayer } from '../../src/world/layers.js';

const file = (layers: string) => `name: l\ndescription: d\npages: 1\nlayers: ${layers}\nactors:\n  - name: a\n    ops: [{ op: access, mm: source, page: 0 }]\n`;

describe('scenario layers', () => {
  it('are read from a file, once each, and reach the built world', () => {
    const { spec } = parseScenario(file(`[${KERNEL_LAYERS[0]}, ${KERNEL_LAYERS[0]}]`), 'l.yaml', 'yaml');
    expect(spec.layers).toEqual([KERNEL_LAYERS[0]]);
    const { world } = buildScenario(spec, variantByName('interval')!);
    expect(hasLayer(world, KERNEL_LAYERS[0])).toBe(true);
    for (const other of KERNEL_LAYERS.slice(1)) expect(hasLayer(world, other)).toBe(false);
  });

  it('are off unless named', () => {
    const { spec } = parseScenario(file('[]'), 'l.yaml', 'yaml');
    const { world } = buildScenario(spec, variantByName('interval')!);
    for (const name of KERNEL_LAYERS) expect(hasLayer(world, name)).toBe(false);
  });

  it('refuse a name the model does not have, naming the entry', () => {
    expect(() => parseScenario(file('[tlb]'), 'l.yaml', 'yaml')).toThrow(/layers\[0\]/);
  });

  it('the schema lists exactly the model’s layers', () => {
    const schema = JSON.parse(readFileSync(new URL('../../src/scenario/schema.json', import.meta.url), 'utf8')) as { properties: { layers: { items: { enum: string[] } } } };
    expect(schema.properties.layers.items.enum).toEqual([...KERNEL_LAYERS]);
  });
});
