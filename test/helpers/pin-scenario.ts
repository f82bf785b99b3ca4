/**
 * Scenario-level checks of the pin tests: a scenario written as YAML, checked with the corrected
 * design (interval), its verdict and, on a violation, the property's message.
 */
import { parseScenario } from '../../src/scenario/load.js';
import { checkOne } from '../../src/check/run.js';
import { VARIANTS } from '../../src/mirror/variants.js';

export function checkYaml(text: string): { verdict: string; message: string } {
  const { spec } = parseScenario(text, 'pin-test.yaml', 'yaml');
  const variant = VARIANTS.find((v) => v.name === 'interval')!;
  const r = checkOne(spec, variant);
  return { verdict: r.verdict, message: r.violation ? JSON.stringify(r.violation).slice(0, 400) : '' };
}

/** A one-page scenario of one actor `parent` running `ops` (YAML flow maps), with outcomes `outcome`. */
export function pinScenario(ops: readonly string[], outcome: readonly string[]): string {
  return [
    'name: pin-test',
    'description: a pin test',
    'pages: 1',
    'actors:',
    '  - name: parent',
    '    ops:',
    ...ops.map((o) => `      - ${o}`),
    'variants: [interval]',
    'outcome:',
    ...outcome.map((o) => `  - ${o}`),
    '',
  ].join('\n');
}
