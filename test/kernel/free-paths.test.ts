/**
 * Every step whose code can reach the page allocator's free path declares the free in its
 * footprint. The footprint tables are recorded from what the test suite runs (`npm run
 * footprints`), so a path no test reaches — an allocation that fails after a concurrent zap left
 * the migration's reference the last, a prealloc a vanished pin left unused — is missing, and a
 * deep search that reaches it stops with a model error (ladder-5 did). This test reads the model's
 * source with the TypeScript parser: the helpers that can free a page, to a fixed point from
 * `freePage`, and each routine's steps that call one of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import '../../src/index.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import type { Library } from '../../src/world/registry.js';
import { ROOT } from '../helpers/cli.js';

/** Steps that call a freeing helper on a page whose last reference is never theirs, and why. */
const NEVER_LAST: Record<string, string> = {
  'shrink_folio_list:removeMapping': "drops the page or swap cache's reference; reclaim's isolation reference outlives the step",
  // copy_pte_range's loop ends (endCopy) by putting an unused prealloc; these never hold one there.
  'copy_page_range:copy': 'the loop starts before any prealloc (one is taken only after -EAGAIN, then the loop goes on at again)',
  'copy_page_range:copyPage': 'copy_present_page takes the prealloc over (*prealloc = NULL) before the loop goes on',
  'copy_page_range:prealloc': 'ends the loop only when the allocation failed: nothing to put',
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.includes('footprints'))
    .map((f) => join(ROOT, dir, f));
}

/** The names a function body calls (plain identifiers: the model's helpers are module functions). */
function callees(node: ts.Node): Set<string> {
  const names = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) names.add(n.expression.text);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return names;
}

interface Step {
  readonly key: string;
  readonly calls: Set<string>;
}

function parse(files: readonly string[]): { helpers: Map<string, Set<string>>; steps: Step[] } {
  const helpers = new Map<string, Set<string>>();
  const steps: Step[] = [];
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionDeclaration(n) && n.name && n.body) helpers.set(n.name.text, callees(n.body));
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer)))
        helpers.set(n.name.text, callees(n.initializer));
      // X.routine({ name: '...', steps: { label: { run: ... } } })
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'routine' && n.arguments[0] && ts.isObjectLiteralExpression(n.arguments[0])) {
        const props = n.arguments[0].properties.filter(ts.isPropertyAssignment);
        const name = props.find((p) => p.name.getText() === 'name')?.initializer;
        const body = props.find((p) => p.name.getText() === 'steps')?.initializer;
        if (name && ts.isStringLiteral(name) && body && ts.isObjectLiteralExpression(body)) {
          for (const s of body.properties.filter(ts.isPropertyAssignment)) steps.push({ key: `${name.text}:${s.name.getText()}`, calls: callees(s.initializer) });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { helpers, steps };
}

describe('steps that can free a page declare it', () => {
  const { helpers, steps } = parse([...sources('src/kernel'), ...sources('src/kvm'), ...sources('src/mirror')]);
  // The helpers that can free a page: freePage, and whatever calls one of them, to a fixed point.
  const frees = new Set(['freePage']);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, calls] of helpers) {
      if (!frees.has(name) && [...calls].some((c) => frees.has(c))) {
        frees.add(name);
        grew = true;
      }
    }
  }
  const libraries: Library[] = [KERNEL, KVM_LIB, ...new Set(VARIANTS.flatMap((v) => [v.library, ...v.library.uses]))];
  const footprintOf = (key: string) => libraries.map((l) => l.footprints?.[key]).find((f) => f !== undefined);

  it('finds the freeing helpers and the steps that call them (the scan sees the model)', () => {
    expect([...frees]).toEqual(expect.arrayContaining(['freePage', 'putPage', 'putPageRefs', 'folioPut', 'tlbFinishOne']));
    const freeing = steps.filter((s) => [...s.calls].some((c) => frees.has(c))).map((s) => s.key);
    expect(freeing).toEqual(expect.arrayContaining(['migrate_pages:allocDst', 'zap_page_range_single:finish', 'unmap_mapping_range_vma:finish', 'copy_page_range:again']));
    expect(freeing.length).toBeGreaterThan(30);
  });

  it('every such step declares page.free, PG_locked and the mapcount that free_pages_prepare reads', () => {
    const missing: string[] = [];
    for (const s of steps) {
      if (![...s.calls].some((c) => frees.has(c)) || NEVER_LAST[s.key]) continue;
      const fp = footprintOf(s.key);
      if (!fp) continue; // a library without footprints is audited against nothing
      const reads = new Set([...(fp.reads ?? []), ...(fp.writes ?? [])]);
      const writes = new Set(fp.writes ?? []);
      const star = writes.has('page.*');
      const lacks = [
        ...(star || writes.has('page.free') ? [] : ['writes page.free']),
        ...(star || reads.has('page.locked') ? [] : ['reads page.locked']),
        ...(star || reads.has('page.mapcount') ? [] : ['reads page.mapcount']),
      ];
      if (lacks.length) missing.push(`${s.key}: ${lacks.join(', ')}`);
    }
    expect(missing).toEqual([]);
  });
});
