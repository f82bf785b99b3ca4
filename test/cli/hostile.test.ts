/**
 * Hostile and mistaken input through the real binary: every input gives a verdict or exit 2 with
 * one `vmamirror: ` line — never a stack trace, never raw bytes of the input, never a pass when
 * nothing was checked.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, tidy, vmamirror, ROOT } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-hostile-'));
const save = (name: string, content: string | Buffer) => {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
};
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** One line on stderr, with the command's prefix and nothing unprintable. */
const ONE_LINE = /^vmamirror: [^\n]*\n$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters in the output is the test
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe('refused with exit 2 and one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown option', ['check', '--frobnicate'], /unknown option '--frobnicate'/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown variant', ['check', 'exit', '--variant', 'nosuch'], /unknown variant "nosuch"; known: interval, /],
    [
      'a variant the scenario file excludes',
      ['check', 'examples/dontneed-two-pages.yaml', '--variant', 'raw-clear'],
      /nothing to check: no selected variant applies to the selected scenarios — dontneed-two-pages \(interval, seed-2019-fixed\)/,
    ],
    ['a scenario given twice', ['check', 'exit', 'exit'], /scenario "exit" is given twice/],
    ['a simulation option without --simulate', ['check', 'exit', '--runs', '5'], /--runs applies to --simulate only/],
    ['an exhaustive option with --simulate', ['check', 'exit', '--simulate', '--max-states', '5'], /--max-states applies to exhaustive checks, not to --simulate/],
    ['--no-por with --simulate', ['check', 'exit', '--simulate', '--no-por'], /--no-por applies to exhaustive checks/],
    ['an unknown simulation strategy', ['check', 'exit', '--simulate', 'dfs'], /--simulate takes random or pct, got "dfs"/],
    ['--bfs with --dfs', ['check', 'exit', '--bfs', '--dfs'], /--bfs and --dfs exclude each other/],
    ['a shard with no cell', ['check', 'exit', '--shard', '7/8'], /shard 7\/8 has no cell: 6 cells split 8 ways/],
    ['a shard with no run', ['check', 'exit', '--simulate', '--runs', '2', '--shard', '3/4'], /shard 3\/4 has no run: 2 runs split 4 ways/],
    ['a shard beyond its split', ['check', '--shard', '4/4'], /i must be below N/],
    ['a shard count too large', ['check', '--shard', '0/99999999999999999999'], /N is too large/],
    ['an HTML report in a missing folder', ['check', 'exit', '--html', join(dir, 'no/such/r.html')], /--html .*r\.html: the folder .* does not exist/],
    ['a JUnit report that is a folder', ['check', 'exit', '--junit', dir], /--junit .*: is a folder, not a file/],
    ['a report under a file', ['check', 'exit', '--junit', join(ROOT, 'package.json', 'j.xml')], /package\.json is not a folder/],
    ['a run length that would not fit in memory', ['replay', 'exit/interval:1*2147483648'], /more than 10000000 steps/],
    ['html with a shard', ['check', 'exit', '--shard', '0/2', '--html', join(dir, 'r.html')], /--html and --junit need the whole run/],
    ['mutate: an unknown design', ['mutate', 'exit', '--design', 'nosuch'], /unknown design "nosuch"; known: interval, /],
    ['mutate: an unknown option', ['mutate', '--frobnicate'], /unknown option '--frobnicate'/],
    ['mutate: an unknown scenario', ['mutate', 'nosuch'], /unknown scenario "nosuch"; known: introspect, /],
    ['mutate: a zero state limit', ['mutate', 'exit', '--max-states', '0'], /expected a positive integer, got "0"/],
    [
      'mutate: a scenario file that excludes the design',
      ['mutate', 'examples/dontneed-two-pages.yaml', '--design', 'raw-clear'],
      /scenario "dontneed-two-pages" does not apply to design raw-clear \(it lists interval, seed-2019-fixed\)/,
    ],
    ['replay on a malformed mutant', ['replay', 'exit/interval:1', '--mutant', 'drop-lock'], /mutant "drop-lock": drop-lock needs a site/],
    ['replay on a mutant of an unknown category', ['replay', 'exit/interval:1', '--mutant', 'frob@a:b'], /expected CATEGORY@ROUTINE:LABEL/],
    ['replay --dump of a step past the trace', ['replay', 'exit/interval:1*2', '--dump', '7'], /--dump 7: the trace has 2 steps, numbered 0 to 1/],
    ['replay --dump of a negative step', ['replay', 'exit/interval:1*2', '--dump', '-1'], /--dump/],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const r = vmamirror(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).toMatch(message);
      expect(tidy(r)).toBe(true);
    });
  }

  it('never echoes raw bytes of the input', () => {
    for (const args of [
      ['replay', 'a\u001b[31mb\u0007'],
      ['check', '\u0001\u0002bin'],
      ['check', 'exit', '--variant', '\u001b]0;title\u0007'],
      ['explain', '\u001b[2J'],
    ]) {
      const r = vmamirror(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).not.toMatch(RAW);
      expect(r.stderr).toMatch(/\\u001b|\\u0001/);
    }
  });

  it('a report that cannot be written after the run (a full disk) is exit 2 with one line', () => {
    if (!existsSync('/dev/full')) return;
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--junit', '/dev/full']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^exit\/interval: holds/);
    expect(r.stderr).toBe('vmamirror: --junit /dev/full: cannot write it (ENOSPC)\n');
  });
});

describe('scenario files: only regular text files, capped, one document; or standard input', () => {
  const example = readFileSync(join(ROOT, 'examples/dontneed-two-pages.yaml'), 'utf8');
  const cases: [string, () => string, RegExp][] = [
    [
      'a device',
      () => {
        const link = join(dir, 'zero.yaml');
        if (!existsSync(link)) symlinkSync('/dev/zero', link);
        return link;
      },
      /zero\.yaml: a device, not a regular file/,
    ],
    [
      'a FIFO (which would block)',
      () => {
        const fifo = join(dir, 'fifo.yaml');
        if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
        return fifo;
      },
      /fifo\.yaml: a FIFO, not a regular file/,
    ],
    [
      'a folder',
      () => {
        const d = join(dir, 'folder.yaml');
        if (!existsSync(d)) mkdirSync(d);
        return d;
      },
      /folder\.yaml: a folder, not a regular file/,
    ],
    ['a file too large', () => save('big.yaml', `# ${'x'.repeat(1 << 20)}\n${example}`), /big\.yaml: more than 1048576 bytes/],
    ['binary content', () => save('bin.yaml', Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a])), /bin\.yaml: not UTF-8 text/],
    ['a NUL byte', () => save('nul.json', '{"name": "a\u0000"}'), /nul\.json: binary content \(a NUL byte\)/],
    ['two YAML documents', () => save('two.yaml', `${example}---\n${example}`), /two\.yaml:\d+:1: a second YAML document; a scenario file holds one/],
  ];
  for (const [what, make, message] of cases) {
    it(what, () => {
      const r = vmamirror(['check', make()], { timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(RAW);
    });
  }

  it('- reads the scenario from standard input, YAML or JSON', () => {
    const yaml = vmamirror(['check', '-', '--variant', 'interval'], { input: example });
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toMatch(/^dontneed-two-pages\/interval: holds/);
    const json = vmamirror(['check', '-', '--variant', 'interval'], { input: JSON.stringify(parse(example)) });
    const head = (t: string) => /^.*?depth \d+/.exec(t)?.[0];
    expect(head(json.stdout)).toBe(head(yaml.stdout));
    expect(json.code).toBe(0);
    const empty = vmamirror(['check', '-'], { input: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^vmamirror: <stdin>:1:1: empty document/);
  });
});

describe('nothing checked is not a pass', () => {
  it('a catalogue stopped by --max-states exits 3 with a sentence and no false UNEXPECTED', () => {
    const junit = join(dir, 'table.xml');
    const r = vmamirror(['check', '--max-states', '500', '--junit', junit]);
    expect(r.code).toBe(3);
    expect(r.stdout).not.toMatch(/UNEXPECTED/);
    expect(r.stdout).toMatch(/\nincomplete: \d+ of 54 checks did not finish \(\d+ stopped at --max-states\); nothing is proved for them beyond the runs each covered \(`covered:`\)\n$/);
    // JUnit agrees: the broken designs caught are expected (no failure), the rest skipped.
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="vmamirror" tests="\d+" failures="0" skipped="[1-9]\d*"/);
    expect(xml).toMatch(/caught as expected: kernel-bug: /);
  });

  it('a simulation whose every run was cut off exits 3', () => {
    const r = vmamirror(['check', 'cow', '--variant', 'interval', '--simulate', 'pct', '--runs', '5', '--max-steps', '2']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/incomplete \(max-steps\)/);
  });

  it('a merge of an empty list exits 2', () => {
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '[]');
    const r = vmamirror(['merge', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vmamirror: .*empty\.json: an empty list: no simulation result to merge\n$/);
  });
});

describe('the other entry points', () => {
  it('--version prints the package version', () => {
    for (const flag of ['--version', '-V']) {
      const r = vmamirror([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
  });

  it('JUnit agrees with the exit code outside the table: a violation is a failure, exit 1', () => {
    const junit = join(dir, 'cells.xml');
    const r = vmamirror(['check', 'exit', '--variant', 'interval', 'start-only', '--junit', junit]);
    expect(r.code).toBe(1);
    expect(readFileSync(junit, 'utf8')).toMatch(/tests="2" failures="1" skipped="0"/);
  });

  it('a reader that goes away (| head) ends the command quietly', () => {
    // 200 kB of JSON into a pipe whose reader leaves after 10 bytes: EPIPE, which is not an error of ours.
    const r = spawnSync('bash', ['-c', `'${process.execPath}' '${BIN}' check --max-states 300 --json | head -c 10 >/dev/null; echo "exit \${PIPESTATUS[0]}" >&2`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toMatch(/^vmamirror: incomplete: \d+ of 54 checks did not finish[^\n]*\nexit 3\n$/);
  });
});
