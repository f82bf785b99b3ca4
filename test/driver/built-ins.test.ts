/**
 * The built-in designs are drivers like any other (issue 10, item 4): each is made by
 * `defineDriver`, and every piece of the package its files take is one the public API
 * (`vmamirror`, src/index.ts) exports — the same object, so a user can write the same design
 * outside the package. Imports between a design's own files (src/mirror/, footprint tables
 * included) are the design's code, not the package's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { isDriver } from '../../src/driver/define.js';
import { VARIANTS } from '../../src/mirror/variants.js';

const mirror = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/mirror');
/** The designs' files: all of src/mirror but the device's plumbing (the model's side of the API). */
const PLUMBING = ['device.ts', 'variants.ts', 'combined.ts'];
const designFiles = readdirSync(mirror).filter((f) => f.endsWith('.ts') && !PLUMBING.includes(f));

/** `[module path, imported names]` of every value import of `file` (type-only imports are erased). */
function valueImports(file: string): [string, string[]][] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(?!type\b)\{([^}]*)\}\s+from\s+'([^']+)';/gm)].map((m) => [
    m[2],
    m[1]
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n && !n.startsWith('type ')),
  ]);
}

describe('the built-in designs', () => {
  it('are all made by defineDriver', () => {
    expect(VARIANTS.length).toBe(6);
    for (const v of VARIANTS) expect(isDriver(v), v.name).toBe(true);
  });

  it('take from the package only what the public API exports', async () => {
    const exported = api as Record<string, unknown>;
    let checked = 0;
    for (const f of designFiles) {
      for (const [from, names] of valueImports(join(mirror, f))) {
        const target = resolve(mirror, from).replace(/\.js$/, '.ts');
        if (dirname(target).startsWith(mirror) && !PLUMBING.some((p) => target === join(mirror, p))) continue; // the designs' own code
        const mod = (await import(pathToFileURL(target).href)) as Record<string, unknown>;
        for (const n of names) {
          expect(exported[n], `${f} imports ${n} from ${from}, which vmamirror does not export`).toBe(mod[n]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
