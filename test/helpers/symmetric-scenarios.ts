/** Scenario files with interchangeable actors, shared by the symmetry tests (one thread and several). */

/** Two identical introspector reads while kswapd reclaims the page (the second read of ladder-6). */
export const TWO_READERS = `
name: two-readers
description: two identical introspector reads while kswapd reclaims the page
pages: 1
actors:
  - name: intro
    ops: [{ op: access, mm: introspector, page: 0 }]
  - name: kswapd
    ops: [{ op: reclaim, page: 0 }]
  - name: intro2
    ops: [{ op: access, mm: introspector, page: 0 }]
symmetric: [[intro, intro2]]
`;
