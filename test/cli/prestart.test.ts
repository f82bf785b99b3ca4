/** Which search threads a command starts before it parses its arguments (src/cli/prestart.ts). */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { workersAsked } from '../../src/cli/prestart.js';

describe('workersAsked', () => {
  const cores = availableParallelism();
  it('reads --workers n and --workers=n', () => {
    if (cores < 2) return;
    expect(workersAsked(['check', 'exit', '--workers', '2'])).toBe(2);
    expect(workersAsked(['check', '--workers=2', 'exit'])).toBe(2);
  });
  it('reads --workers auto as a thread per core', () => {
    expect(workersAsked(['check', 'exit', '--workers', 'auto'])).toBe(cores >= 2 ? cores : 1);
    expect(workersAsked(['check', '--workers=auto'])).toBe(cores >= 2 ? cores : 1);
  });
  it('is 1 for what the parser refuses or where the option is absent: no thread is started for it', () => {
    for (const argv of [
      ['check', 'exit'],
      ['check', '--workers'],
      ['check', '--workers', '1'],
      ['check', '--workers', 'abc'],
      ['check', '--workers', '1.5'],
      ['check', '--workers', '-2'],
      ['check', '--workers', String(cores + 1)],
      ['check', '--workers='],
    ])
      expect(workersAsked(argv), argv.join(' ')).toBe(1);
  });
});
