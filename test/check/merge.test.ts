/**
 * Step merging must not change a verdict: on every catalogue scenario, under every variant, merged
 * and unmerged exploration agree on the verdict and the violated property, and a merged
 * counterexample replays to the same violation. (introspect-nested: both runs skip the termination
 * check, whose region graph would double the time — termination under merging is compared on every
 * other scenario — and its corrected-design cell, 3.3M states merged and several times that
 * unmerged, is compared within two preemptions, where merging must find the same nothing.)
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { explore } from '../../src/engine/exhaustive.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { runSchedule } from '../../src/world/runner.js';

describe('step merging', () => {
  for (const spec of CATALOGUE) {
    it(`keeps every verdict on ${spec.name}`, { timeout: 600_000 }, () => {
      let reduced = false;
      const liveness = spec.name !== 'introspect-nested';
      for (const v of VARIANTS) {
        const preemptions = spec.name === 'introspect-nested' && v.name === 'interval' ? 2 : undefined;
        const on = explore(buildScenario(spec, v).world, { properties: PROPERTIES, merge: true, liveness, preemptions });
        const off = explore(buildScenario(spec, v).world, { properties: PROPERTIES, merge: false, liveness, preemptions });
        expect(`${v.name}: ${on.verdict} ${on.violation?.property ?? ''}`).toBe(`${v.name}: ${off.verdict} ${off.violation?.property ?? ''}`);
        if (on.states < off.states) reduced = true;
        if (on.violation && PROPERTIES.some((p) => p.name === on.violation!.property)) {
          const w = buildScenario(spec, v).world;
          runSchedule(w, on.violation.schedule);
          expect(PROPERTIES.find((p) => p.name === on.violation!.property)!.check(w)).toBe(on.violation.message);
        } else if (on.violation?.property === 'kernel-bug') {
          const w = buildScenario(spec, v).world;
          // The last step raised the BUG (possibly a blocked attempt: replay records it too).
          const bugs = runSchedule(w, on.violation.schedule).at(-1)!.bugs;
          expect(bugs.join('; ')).toBe(on.violation.message);
        }
      }
      expect(reduced).toBe(true);
    });
  }
});
