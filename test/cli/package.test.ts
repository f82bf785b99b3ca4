/**
 * What the npm package ships: the examples and every document the README and the docs link to,
 * and a race catalogue in which every `R-n` and `INV-n` they (and the scenario descriptions the
 * reports print) cite is defined.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { CATALOGUE } from '../../src/scenario/catalogue.js';

/** The files `npm pack` would put in the tarball (no build: --ignore-scripts). */
function packed(): Set<string> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [info] = JSON.parse(out) as { files: { path: string }[] }[];
  return new Set(info.files.map((f) => f.path));
}

/** The markdown files of the README and the docs (the catalogue copy included). */
function documents(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  return ['README.md', ...walk('docs')];
}

/** Relative link targets of a markdown file, as paths from the repository root. */
function links(doc: string): string[] {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  return [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z]+:/.test(target))
    .map((target) => normalize(join(dirname(doc), target)));
}

describe('the package', () => {
  const files = packed();

  it('ships the examples, the docs and the benchmark results', () => {
    for (const f of readdirSync(join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' })) {
      if (!f.includes('.')) continue; // a folder
      expect(files, `examples/${f}`).toContain(join('examples', f));
    }
    for (const f of ['docs/drivers.md', 'docs/modelling.md', 'docs/reference/races.md', 'bench/RESULTS.md', 'README.md']) expect(files, f).toContain(f);
  });

  it('ships every file the README and the docs link to, and every link resolves', () => {
    const targets = documents().flatMap((d) => links(d).map((t) => [d, t] as const));
    expect(targets.length).toBeGreaterThan(5);
    for (const [doc, target] of targets) {
      expect(existsSync(join(ROOT, target)), `${doc} links to ${target}`).toBe(true);
      // Links into the test suite or the sources point at the repository, not the package.
      if (/^(test|src|scripts)\//.test(target)) continue;
      expect(files, `${doc} links to ${target}`).toContain(relative('.', target));
    }
  });
});

describe('the race catalogue', () => {
  const catalogue = readFileSync(join(ROOT, 'docs/reference/races.md'), 'utf8');
  const cited = (text: string) => [...new Set([...text.matchAll(/\b(R1[0-6]|R[1-9]|INV-\d+)\b/g)].map((m) => m[1]))];

  it('defines every R-n and INV-n the README, the docs and the scenario descriptions cite', () => {
    const texts = [
      ...documents()
        .filter((d) => !d.startsWith('docs/reference'))
        .map((d) => readFileSync(join(ROOT, d), 'utf8')),
      ...CATALOGUE.map((s) => s.description),
    ];
    const all = new Set(texts.flatMap(cited));
    expect(all.has('R1') && all.has('INV-8')).toBe(true);
    for (const id of all) {
      const defined = id.startsWith('INV-') ? `**${id} (` : `**${id} — `;
      expect(catalogue, id).toContain(defined);
    }
  });

  it('holds R1 to R16 and INV-1 to INV-13', () => {
    for (let n = 1; n <= 16; n++) expect(catalogue).toContain(`**R${n} — `);
    for (let n = 1; n <= 13; n++) expect(catalogue).toContain(`**INV-${n} (`);
  });
});
