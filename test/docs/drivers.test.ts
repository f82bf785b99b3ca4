/**
 * docs/drivers.md, the driver tutorial, kept true (its last section states these rules):
 * - every ```ts block begins with `// FILE` and the rest of it occurs verbatim in FILE;
 * - every ```console block is `$ node bin/vmamirror.js ARGS`, the output, `$ echo $?` and the exit
 *   code: ARGS run through the real binary, stdout compared line by line after `normalise` (a
 *   `...` line in the page stands for any number of lines), stderr empty, the exit code equal.
 * No other block may show a `$ ` prompt, so no command in the page escapes the test.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, vmamirror } from '../helpers/cli.js';

const PAGE = 'docs/drivers.md';

interface Block {
  readonly lang: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lines: readonly string[];
}

/** The fenced blocks of a markdown text. */
function blocksOf(text: string): Block[] {
  const blocks: Block[] = [];
  let open: { lang: string; line: number; lines: string[] } | undefined;
  text.split('\n').forEach((l, i) => {
    if (!open) {
      const m = /^```(\S*)\s*$/.exec(l);
      if (m) open = { lang: m[1], line: i + 1, lines: [] };
    } else if (/^```\s*$/.test(l)) {
      blocks.push(open);
      open = undefined;
    } else open.lines.push(l);
  });
  if (open) throw new Error(`${PAGE}:${open.line}: unclosed code block`);
  return blocks;
}

/** Timings and memory figures become `#`: they vary between runs; every other number must match. */
function normalise(line: string): string {
  return line
    .replace(/\d+(?:\.\d+)? s\b/g, '# s')
    .replace(/\d+ states\/s/g, '# states/s')
    .replace(/B\/state: [\d.]+ visited set, [\d.]+ all tables, [\d.]+ process/g, 'B/state: # visited set, # all tables, # process')
    .trimEnd();
}

/** Whether `actual` matches the page's `shown` lines, `...` standing for any number of lines. */
function matches(shown: readonly string[], actual: readonly string[]): boolean {
  const s = shown.map(normalise);
  const a = actual.map(normalise);
  // ok[i][j]: shown[i..] matches actual[j..]
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (a.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === s.length) r = j === a.length;
    else if (s[i].trim() === '...') r = go(i + 1, j) || (j < a.length && go(i, j + 1));
    else r = j < a.length && s[i] === a[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** A shell command line's words: whitespace-separated, '…' quoting (no escapes, no expansions). */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|(\S+)/g)) {
    if (m[2]?.includes("'") || m[2]?.includes('"') || m[2]?.includes('$')) throw new Error(`not a plain command: ${command}`);
    out.push(m[1] ?? m[2]);
  }
  return out;
}

interface Command {
  readonly line: number;
  readonly args: string[];
  readonly output: string[];
  readonly code: number;
}

/** A console block as a command, its shown output and exit code; a block of another shape is an error. */
function commandOf(b: Block): Command {
  const where = `${PAGE}:${b.line}`;
  const [first, ...rest] = b.lines;
  const m = /^\$ node bin\/vmamirror\.js (.+)$/.exec(first ?? '');
  if (!m) throw new Error(`${where}: a console block must begin with "$ node bin/vmamirror.js ARGS"`);
  const n = rest.length;
  if (n < 2 || rest[n - 2] !== '$ echo $?' || !/^\d+$/.test(rest[n - 1])) throw new Error(`${where}: a console block must end with "$ echo $?" and the exit code`);
  const output = rest.slice(0, n - 2);
  if (output.some((l) => l.startsWith('$ '))) throw new Error(`${where}: one command per console block`);
  return { line: b.line, args: words(m[1]), output, code: Number(rest[n - 1]) };
}

const blocks = blocksOf(readFileSync(join(ROOT, PAGE), 'utf8'));

describe(`${PAGE}: quoted code`, () => {
  const quoted = blocks.filter((b) => b.lang === 'ts');
  it('quotes the examples', () => expect(quoted.length).toBeGreaterThanOrEqual(8));
  for (const b of quoted) {
    it(`the ts block at line ${b.line} is verbatim from the file its first line names`, () => {
      const m = /^\/\/ (examples\/\S+\.ts)$/.exec(b.lines[0] ?? '');
      expect(m, `${PAGE}:${b.line}: a ts block must begin with "// examples/…ts"`).not.toBeNull();
      const file = readFileSync(join(ROOT, m![1]), 'utf8');
      const body = b.lines.slice(1).join('\n');
      expect(body.trim().length).toBeGreaterThan(0);
      expect(file.includes(body), `${PAGE}:${b.line}: not verbatim in ${m![1]}`).toBe(true);
    });
  }
});

describe(`${PAGE}: commands and their output`, () => {
  it('no prompt outside a console block', () => {
    for (const b of blocks.filter((x) => x.lang !== 'console'))
      expect(
        b.lines.filter((l) => l.startsWith('$ ')),
        `${PAGE}:${b.line}`,
      ).toEqual([]);
  });
  const commands = blocks.filter((b) => b.lang === 'console').map(commandOf);
  it('shows the commands of the tutorial', () => expect(commands.length).toBeGreaterThanOrEqual(6));
  for (const c of commands) {
    it(`line ${c.line}: vmamirror ${c.args.join(' ')}`, () => {
      const r = vmamirror(c.args);
      expect(r.stderr).toBe('');
      const actual = r.stdout.replace(/\n$/, '').split('\n');
      if (!matches(c.output, actual)) {
        // the diff vitest prints: the page's lines against what the binary printed, both normalised
        expect(actual.map(normalise).join('\n'), `${PAGE}:${c.line}: the output shown is not what the command prints`).toBe(c.output.map(normalise).join('\n'));
      }
      expect(r.code).toBe(c.code);
    });
  }
});

describe('the page test itself', () => {
  it('normalises timings and memory only', () => {
    expect(normalise('x: holds — 358 states, 618 transitions, depth 51, 0.05 s (6787 states/s; B/state: 1464.5 visited set, 99219.3 all tables, 12082.1 process)  ')).toBe(
      'x: holds — 358 states, 618 transitions, depth 51, # s (# states/s; B/state: # visited set, # all tables, # process)',
    );
    expect(normalise('shrunk to 10 steps, 0 preemptions')).toBe('shrunk to 10 steps, 0 preemptions');
  });
  it('matches ... against any run of lines, and nothing else', () => {
    expect(matches(['a', '...', 'd'], ['a', 'b', 'c', 'd'])).toBe(true);
    expect(matches(['a', '...', 'd'], ['a', 'd'])).toBe(true);
    expect(matches(['a', 'd'], ['a', 'b', 'd'])).toBe(false);
    expect(matches(['a', '...'], ['b'])).toBe(false);
    expect(matches(['1 state, 0.1 s'], ['2 states, 0.1 s'])).toBe(false);
  });
  it('refuses a console block of another shape', () => {
    expect(() => commandOf({ lang: 'console', line: 1, lines: ['$ ls'] })).toThrow(/must begin with/);
    expect(() => commandOf({ lang: 'console', line: 1, lines: ['$ node bin/vmamirror.js list', 'x'] })).toThrow(/must end with/);
    expect(words("replay 'a/b:0*7' --driver x.ts")).toEqual(['replay', 'a/b:0*7', '--driver', 'x.ts']);
    expect(() => words('check $HOME')).toThrow(/not a plain command/);
  });
});
