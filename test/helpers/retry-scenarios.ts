/**
 * Scenarios whose exhaustive search ends only under the counter abstraction (src/engine/counters.ts),
 * shared by the tests of the abstraction and of the parallel search.
 */
import type { ScenarioSpec } from '../../src/scenario/spec.js';

/** migrate-to-dev of one page racing a CPU read (dmirror): the fault that loses the refcount race retries with a new page, a new generation each time. */
export const MIGRATE_VS_CPU_READ_1: ScenarioSpec = {
  name: 'migrate-to-dev-vs-cpu-read-1',
  description: '',
  pages: 1,
  actors: [
    { name: 'dev', ops: [{ op: 'device', call: 'migrate-to-dev', page: 0 }] },
    { name: 'cpu', ops: [{ op: 'access', mm: 'source', page: 0 }] },
  ],
};
