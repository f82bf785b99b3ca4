/**
 * Bring your own driver (`--driver FILE`) through the real binary: a design written outside the
 * package against the public API only, loaded from a folder outside the repository without a
 * build step; the example of the corrected design gets the built-in `interval`'s verdicts and
 * counts; the broken example is caught; every mistake in a driver file is one line naming the
 * file, exit 2 (the file) or 4 (the driver's model code), never a stack trace.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, tidy, vmamirror } from '../helpers/cli.js';
import { defineDriver, DriverError, INTERVAL_LIB, KERNEL, Library } from '../../src/index.js';
import { interval } from '../../src/mirror/interval.js';
import { main } from '../../src/cli/main.js';

const EXAMPLE = join(ROOT, 'examples/drivers/interval.ts');
const BROKEN = join(ROOT, 'examples/drivers/forgets-update-lock.ts');
const dir = mkdtempSync(join(tmpdir(), 'vmamirror-driver-'));
const example = readFileSync(EXAMPLE, 'utf8');

/** The example with edits (pairs of from, to), saved outside the repository; `extra` appended. */
function variant(name: string, from: string, to: string, extra = '', more: [string, string][] = []): string {
  let text = example;
  for (const [a, b] of [[from, to], ...more]) {
    expect(text.includes(a), `${name}: the example still has ${a}`).toBe(true);
    text = text.replace(a, b);
  }
  const f = join(dir, name);
  writeFileSync(f, text + extra);
  return f;
}

const ONE_LINE = /^vmamirror: [^\n]*\n$/;

interface Cell {
  scenario: string;
  variant: string;
  verdict: string;
  states: number;
  transitions: number;
}

describe('a driver file outside the package', () => {
  it('the example of the corrected design, copied to a folder of its own, gets the built-in interval verdicts and counts', () => {
    const mine = join(dir, 'my-driver.ts');
    copyFileSync(EXAMPLE, mine);
    const r = vmamirror(['check', 'exit', 'munmap', 'cow', 'mprotect', '--variant', 'interval', 'byo-interval', '--driver', mine, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cells = JSON.parse(r.stdout) as Cell[];
    expect(cells).toHaveLength(8);
    for (const s of ['exit', 'munmap', 'cow', 'mprotect']) {
      const [a, b] = ['interval', 'byo-interval'].map((v) => cells.find((c) => c.scenario === s && c.variant === v)!);
      expect(b.verdict).toBe('holds');
      expect({ verdict: b.verdict, states: b.states, transitions: b.transitions }).toEqual({ verdict: a.verdict, states: a.states, transitions: a.transitions });
    }
  });

  it('without --variant, --driver checks only the driver', () => {
    const r = vmamirror(['check', 'exit', '--driver', EXAMPLE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^exit\/byo-interval: holds — 358 states/);
    expect(r.stdout).not.toMatch(/exit\/interval/);
  });

  it('a .mjs driver is loaded as it is', () => {
    const js = join(dir, 'plain.mjs');
    writeFileSync(
      js,
      `import { defineDriver, Library, KERNEL, VM_PFNMAP, VM_FAULT_SIGBUS } from 'vmamirror';
const lib = new Library('plain-js', [KERNEL], { kind: 'driver', sources: ['mirror'] });
const fault = lib.routine({ name: 'plain_fault', params: ['vma', 'vpn', 'write'], steps: { no: { at: 'mirror: return VM_FAULT_SIGBUS', run: (w) => w.ret(VM_FAULT_SIGBUS) } } });
export const driver = defineDriver({ name: 'plain', summary: 'never maps anything', vmaFlags: VM_PFNMAP, fault, library: lib, routines: [fault], needs: {}, attach: () => {} });
`,
    );
    const r = vmamirror(['check', 'exit', '--driver', js]);
    expect(tidy(r)).toBe(true);
    expect(r.stdout).toMatch(/^exit\/plain: /);
  });

  it('the broken example is caught: its unlocked mmu_interval_set_seq is a data race', () => {
    const r = vmamirror(['check', 'exit', '--driver', BROKEN]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/exit\/forgets-update-lock: violation — kernel-bug: ful_invalidate:zap writes intervalNotifier\[0\]\.seq \(protected by driver\) without holding driver: a data race/);
    const schedule = /schedule: (\S+)/.exec(r.stdout)![1];
    const replay = vmamirror(['replay', schedule, '--driver', BROKEN]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/KERNEL BUG: ful_invalidate:zap/);
  });

  it('explain prints the driver', () => {
    const r = vmamirror(['explain', 'byo-interval', '--driver', EXAMPLE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/long byo_fault\(long vma, long vpn, long write\)/);
  });
});

describe('a mistaken driver file: one line naming the file', () => {
  const cases: [string, () => string, number, RegExp][] = [
    ['a missing file', () => join(dir, 'nosuch.ts'), 2, /--driver .*nosuch\.ts: no such file/],
    ['not a module', () => variant('driver.txt', 'x', 'x'), 2, /driver\.txt: expected a \.ts, \.mts, \.js or \.mjs module, got "\.txt"/],
    ['a folder', () => dir, 2, /not a regular file/],
    ['a syntax error', () => variant('syntax.ts', 'export default defineDriver({', 'const = ;\nexport default defineDriver({'), 2, /syntax\.ts: cannot load the module: .*syntax\.ts:\d+:\d+: ERROR: /],
    ['an import that does not exist', () => variant('import.ts', "} from 'vmamirror';", "} from 'vmamirror';\nimport './nosuch.js';"), 2, /import\.ts: cannot load the module: /],
    [
      'no default export',
      () => variant('nodefault.ts', 'export default defineDriver({', 'export const other = defineDriver({'),
      2,
      /nodefault\.ts: exports no driver; expected `export default defineDriver/,
    ],
    [
      'an export that is not a driver',
      () => variant('notdriver.ts', 'export default defineDriver({', 'export const d = defineDriver({', "\nexport default { name: 'x' };\n"),
      2,
      /notdriver\.ts: its default export is not a driver; expected the result of defineDriver/,
    ],
    ['no fault', () => variant('nofault.ts', '  fault,\n', ''), 2, /nofault\.ts: defineDriver: driver "byo-interval": fault: missing; expected vm_ops->fault/],
    [
      'a routine of another library',
      () =>
        variant('otherlib.ts', 'routines: [fault, install, pfnMkwrite, invalidate]', 'routines: [fault, install, pfnMkwrite, invalidate, stray]', '', [
          [
            'export default defineDriver({',
            "const other = new Library('other-lib', [KERNEL], { kind: 'driver', sources: ['mirror'] });\nconst stray = other.routine({ name: 'stray', params: [], steps: { s: { at: 'mirror: x', run: (w) => w.ret(0) } } });\nexport default defineDriver({",
          ],
        ]),
      2,
      /otherlib\.ts: .*routines\[4\]: routine stray is of library other-lib, not of the driver's library byo-interval/,
    ],
    ['a built-in design name', () => variant('clash.ts', "name: 'byo-interval'", "name: 'interval'"), 2, /clash\.ts: .*driver "interval": the name is a built-in design's/],
    [
      'a built-in design re-exported',
      () => variant('builtin.ts', 'export default defineDriver({', 'export const mine = defineDriver({', "\nexport { interval as default } from 'vmamirror';\n"),
      2,
      /builtin\.ts: exports the built-in design interval; select it with --variant interval/,
    ],
    [
      'a label that does not exist',
      () => variant('label.ts', ": 'insert';", ": 'inserr';"),
      4,
      /model error in driver .*label\.ts \(routine byo_install_pfn\): byo_install_pfn:retry went to unknown label inserr/,
    ],
    [
      'a step that blocks after writing',
      () =>
        variant(
          'block.ts',
          '        const b = mutexLock(w, updateLock(w, l.dev));\n        if (b) return b;\n        return w.callRef',
          '        l.seq = l.seq + 1;\n        const b = mutexLock(w, updateLock(w, l.dev));\n        if (b) return b;\n        l.seq = l.seq - 1;\n        return w.callRef',
        ),
      4,
      /model error in driver .*block\.ts \(routine byo_fault\): byo_fault:lock blocked after writing the state/,
    ],
    [
      'an exception in a step',
      () => variant('throws.ts', '        l.dev = deviceOfVma(w, l.vma);', "        l.dev = deviceOfVma(w, l.vma);\n        if (l.vpn >= 0) throw new TypeError('oops in the driver');"),
      4,
      /error in driver .*throws\.ts: oops in the driver/,
    ],
  ];
  for (const [what, file, code, message] of cases) {
    it(what, () => {
      const r = vmamirror(['check', 'introspect', '--driver', file()]);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).toMatch(message);
      expect(tidy(r)).toBe(true);
      expect(r.code).toBe(code);
    });
  }

  it('the same driver twice', () => {
    const r = vmamirror(['check', 'exit', '--driver', EXAMPLE, join(dir, 'my-driver.ts')]);
    expect(r.stderr).toMatch(/my-driver\.ts: driver "byo-interval" is also the name of the driver in .*examples\/drivers\/interval\.ts/);
    expect(r.code).toBe(2);
  });
});

describe('defineDriver in-process', () => {
  it('returns a design; refuses what it cannot run with a DriverError', () => {
    const lib = new Library('unit-driver', [KERNEL], { kind: 'driver', sources: ['mirror'] });
    const fault = lib.routine({ name: 'unit_fault', params: ['vma', 'vpn', 'write'], steps: { s: { at: 'mirror: x', run: (w) => w.ret(0) } } });
    const base = { name: 'unit', summary: 's', vmaFlags: 0, fault, library: lib, routines: [fault], needs: {}, attach: () => {} };
    expect(defineDriver(base).name).toBe('unit');
    expect(() => defineDriver({ ...base, name: 'Bad Name' })).toThrow(DriverError);
    expect(() => defineDriver({ ...base, library: interval.library })).toThrow(/library name "interval" is taken by a built-in library/);
    expect(() => defineDriver({ ...base, routines: [] })).toThrow(/routines: expected the driver's routines/);
    expect(() => defineDriver({ ...base, fault: interval.fault })).toThrow(/routine mirror_fault is of library interval/);
    expect(() => defineDriver(null as never)).toThrow(/expected an object/);
    expect(() => defineDriver({ ...base, summary: ' ' })).toThrow(/summary: expected one sentence/);
    expect(() => defineDriver({ ...base, vmaFlags: -1 })).toThrow(/vmaFlags: expected/);
    expect(() => defineDriver({ ...base, library: {} as never })).toThrow(/library: expected a Library/);
    expect(() => defineDriver({ ...base, pfnMkwrite: fault })).toThrow(/pfnMkwrite: routine unit_fault takes 3 params; expected 2/);
    expect(() => defineDriver({ ...base, maySplit: 'no' as never })).toThrow(/maySplit: expected false \(vm_ops->may_split refuses every split\) or true, got "no"/);
    expect(defineDriver({ ...base, name: 'unit-no-split', maySplit: false }).maySplit).toBe(false);
    expect(() => defineDriver({ ...base, needs: { gpu: true } as never })).toThrow(/needs\.gpu: expected/);
    expect(() => defineDriver({ ...base, attach: undefined as never })).toThrow(/attach: expected the device's \.mmap/);
    expect(() => defineDriver({ ...base, reproduces: [1] as never })).toThrow(/reproduces: expected a list/);
    expect(() => defineDriver({ ...base, acceptedMutants: { x: 1 } as never })).toThrow(/acceptedMutants: expected/);
    const other = lib.routine({ name: 'unit_other', params: ['vma', 'vpn', 'write'], steps: { s: { at: 'mirror: x', run: (w) => w.ret(0) } } });
    expect(() => defineDriver({ ...base, fault: other })).toThrow(/routines: expected it to list unit_other/);
    const clashing = new Library('unit-clash', [KERNEL], { kind: 'driver', sources: ['mirror'] });
    const hmm = clashing.routine({ name: 'handle_mm_fault', params: ['vma', 'vpn', 'write'], steps: { s: { at: 'mirror: x', run: (w) => w.ret(0) } } });
    expect(() => defineDriver({ ...base, library: clashing, fault: hmm, routines: [hmm] })).toThrow(/routine handle_mm_fault: the name is a routine of library kernel/);
    // A design built on another's routines (as raw-clear on interval's): its library uses theirs.
    const builtOn = new Library('unit-built-on', [KERNEL, INTERVAL_LIB], { kind: 'driver', sources: ['mirror'] });
    const own = builtOn.routine({ name: 'unit_own', params: ['vma', 'vpn', 'write'], steps: { s: { at: 'mirror: x', run: (w) => w.ret(0) } } });
    const onInterval = defineDriver({ ...base, name: 'unit-built-on', library: builtOn, fault: interval.fault, routines: [interval.fault, own] });
    expect(onInterval.routines).toEqual([interval.fault, own]);
    expect(() => defineDriver({ ...base, name: 'unit-built-on', library: builtOn, fault: own, routines: [own, base.fault] })).toThrow(
      /routine unit_fault is of library unit-driver, not of the driver's library unit-built-on \(or of a driver library it uses\)/,
    );
    const kernelLib = new Library('kernel-cites', [KERNEL], { kind: 'kernel' });
    expect(() => defineDriver({ ...base, library: kernelLib })).toThrow(/citation policy/);
  });

  it('main (in-process, synchronous) refuses --driver with one line', () => {
    expect(main(['check', 'exit', '--driver', EXAMPLE])).toBe(2);
  });
});
