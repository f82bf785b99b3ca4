/** What a scenario file may be before it is parsed (src/scenario/read-file.ts), through loadScenarioFile. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, ScenarioError } from '../../src/scenario/load.js';
import { MAX_SCENARIO_BYTES, sniffFormat } from '../../src/scenario/read-file.js';

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-read-'));
const example = readFileSync(new URL('../../examples/dontneed-two-pages.yaml', import.meta.url), 'utf8');
const file = (name: string, content: string | Buffer) => {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
};

/** The one problem loading `path` gives. */
function problem(path: string): string {
  try {
    loadScenarioFile(path);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    expect((e as ScenarioError).problems).toHaveLength(1);
    return (e as Error).message;
  }
  throw new Error(`${path} loaded`);
}

describe('reading a scenario file', () => {
  it('loads a regular file, and a large one up to the cap', () => {
    expect(loadScenarioFile(file('ok.yaml', example)).spec.name).toBe('dontneed-two-pages');
    const padded = `${example}#${'x'.repeat(MAX_SCENARIO_BYTES - example.length - 3)}\n`;
    expect(loadScenarioFile(file('padded.yaml', padded)).spec.name).toBe('dontneed-two-pages');
  });

  it('refuses what is not a regular file, before opening it', () => {
    const folder = join(dir, 'folder.yaml');
    mkdirSync(folder);
    expect(problem(folder)).toMatch(/folder\.yaml: a folder, not a regular file; expected a scenario file$/);
    if (existsSync('/dev/zero')) {
      symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
      expect(problem(join(dir, 'zero.yaml'))).toMatch(/zero\.yaml: a device, not a regular file/);
    }
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    expect(problem(fifo)).toMatch(/fifo\.json: a FIFO, not a regular file/);
    expect(problem(join(dir, 'none.yaml'))).toMatch(/none\.yaml: cannot read the file \(ENOENT\)/);
  });

  it('refuses more than the cap, binary content and NUL bytes, echoing none of it', () => {
    expect(problem(file('big.yaml', 'x'.repeat(MAX_SCENARIO_BYTES + 1)))).toMatch(/big\.yaml: more than 1048576 bytes/);
    expect(problem(file('bin.yaml', Buffer.from([0x61, 0xff, 0xfe, 0x1b, 0x5b])))).toMatch(/^[^\n]*bin\.yaml: not UTF-8 text \(binary content\?\); expected a YAML or JSON scenario$/);
    expect(problem(file('nul.yaml', 'name: a\u0000b\n'))).toMatch(/nul\.yaml: binary content \(a NUL byte\)/);
  });

  it('refuses a second YAML document at its line', () => {
    const lines = example.split('\n').length;
    expect(problem(file('two.yaml', `${example}---\nname: again\n`))).toMatch(new RegExp(`two\\.yaml:${lines}:1: a second YAML document; a scenario file holds one`));
  });

  it('standard input has no extension: JSON if it starts with {', () => {
    expect(sniffFormat('  {"name": 1}')).toBe('json');
    expect(sniffFormat('name: x')).toBe('yaml');
    expect(sniffFormat('[1]')).toBe('yaml'); // a list is no scenario either way; YAML says so in its words
  });
});
