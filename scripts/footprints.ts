/**
 * `npm run footprints`: regenerates the declared footprint tables (src/world/footprint.ts) from
 * what the test suite observes. It runs the suite with VMAMIRROR_RECORD_FOOTPRINTS set (every world
 * records what each step reads, writes, calls, and whether it blocks or starts an actor), merges
 * the records of all test processes, and writes one table per product library. A label the suite
 * never reaches is declared empty and marked: auditing it later fails with a message naming it, so
 * its footprint is then written by hand. Review the diff like code: a new field in a step's
 * footprint is a new shared access.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import '../src/index.js';
import { KERNEL } from '../src/kernel/library.js';
import { KVM_LIB } from '../src/kvm/library.js';
import { WORKLOAD_LIB } from '../src/scenario/workload.js';
import { VARIANTS } from '../src/mirror/variants.js';
import { CATALOGUE } from '../src/scenario/catalogue.js';
import { buildScenario } from '../src/scenario/build.js';
import type { Library } from '../src/world/registry.js';
import type { StructDef } from '../src/world/layout.js';

type Seen = { reads: string[]; writes: string[]; calls: string[]; blocks: boolean; spawns: boolean };

/** Where each product library's table lives, and the name of its export. */
const OUTPUTS: { lib: Library; file: string; name: string }[] = [
  { lib: KERNEL, file: 'src/kernel/footprints.ts', name: 'KERNEL_FOOTPRINTS' },
  { lib: KVM_LIB, file: 'src/kvm/footprints.ts', name: 'KVM_FOOTPRINTS' },
  { lib: WORKLOAD_LIB, file: 'src/scenario/workload-footprints.ts', name: 'WORKLOAD_FOOTPRINTS' },
  ...[...new Set(VARIANTS.map((v) => v.library).flatMap((l) => [l, ...l.uses]))]
    .filter((l) => l !== KERNEL)
    .map((lib) => ({ lib, file: `src/mirror/footprints/${lib.name}.ts`, name: `${lib.name.replace(/-/g, '_').toUpperCase()}_FOOTPRINTS` })),
];

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(join(tmpdir(), 'vmamirror-footprints-'));
console.log(`recording into ${dir} (the test suite runs once)…`);
const run = spawnSync('npx', ['vitest', 'run', '--exclude', '**/*.browser.test.ts', '--exclude', '**/merge.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, VMAMIRROR_RECORD_FOOTPRINTS: dir },
});
if (run.status !== 0) {
  console.error('the test suite failed: footprints not written');
  process.exit(1);
}

const merged = new Map<string, Map<string, Seen>>();
for (const f of readdirSync(dir)) {
  const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, Record<string, Seen>>;
  for (const [lib, steps] of Object.entries(rec)) {
    let m = merged.get(lib);
    if (!m) {
      m = new Map();
      merged.set(lib, m);
    }
    for (const [where, s] of Object.entries(steps)) {
      const o = m.get(where);
      if (!o) m.set(where, { ...s });
      else
        m.set(where, {
          reads: [...new Set([...o.reads, ...s.reads])],
          writes: [...new Set([...o.writes, ...s.writes])],
          calls: [...new Set([...o.calls, ...s.calls])],
          blocks: o.blocks || s.blocks,
          spawns: o.spawns || s.spawns,
        });
    }
  }
}

// Struct field lists, to write `struct.*` when a step touches every field of a struct.
const structs = new Map<string, StructDef>();
for (const spec of CATALOGUE) for (const r of buildScenario(spec, VARIANTS[0]).world.layout.regions) structs.set(r.def.name, r.def);
const collapse = (fields: readonly string[]): string[] => {
  const byStruct = new Map<string, string[]>();
  for (const f of fields) {
    const [s] = f.split('.');
    byStruct.set(s, [...(byStruct.get(s) ?? []), f]);
  }
  const out: string[] = [];
  for (const [s, fs] of byStruct) {
    const def = structs.get(s);
    if (def && fs.length === def.fields.length) out.push(`${s}.*`);
    else out.push(...fs);
  }
  return out.sort();
};
const list = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

for (const { lib, file, name } of OUTPUTS) {
  const seen = merged.get(lib.name) ?? new Map<string, Seen>();
  const lines: string[] = [];
  let unreached = 0;
  for (const r of lib.routines) {
    for (const label of r.labels) {
      const where = `${r.name}:${label}`;
      const s = seen.get(where);
      if (!s) {
        unreached++;
        lines.push(`  '${where}': {}, // unreached by the test suite: declare by hand when it is`);
        continue;
      }
      const parts: string[] = [];
      const writes = collapse(s.writes);
      const reads = collapse(s.reads.filter((f) => !s.writes.includes(f)));
      if (reads.length) parts.push(`reads: ${list(reads)}`);
      if (writes.length) parts.push(`writes: ${list(writes)}`);
      if (s.calls.length) parts.push(`calls: ${list([...s.calls].sort())}`);
      if (s.blocks) parts.push('blocks: true');
      if (s.spawns) parts.push('spawns: true');
      lines.push(parts.length ? `  '${where}': { ${parts.join(', ')} },` : `  '${where}': {},`);
    }
  }
  const depth = file.split('/').length - 2;
  const text = `/**
 * Declared footprints of the ${lib.name} library's steps (src/world/footprint.ts): what each step
 * reads and writes, calls, and whether it blocks. Checked by the runner on every traced step.
 * Generated by \`npm run footprints\` from what the test suite observed, then reviewed.
 */
import type { FootprintTable } from '${'../'.repeat(depth)}world/footprint.js';

export const ${name}: FootprintTable = {
${lines.join('\n')}
};
`;
  mkdirSync(join(root, dirname(file)), { recursive: true });
  writeFileSync(join(root, file), text);
  console.log(`${file}: ${lines.length} labels (${unreached} unreached)`);
}
