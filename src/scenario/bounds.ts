/** How big a scenario may be, and how the builder sizes a world from a scenario. */

/** Page frames of a world with `pages` source pages: the pages themselves, and for each a second and a third frame (a COW copy, a migration target or a swap-in), plus two for allocations in flight. */
export function pageFrames(pages: number): number {
  return 3 * pages + 2;
}

/** The most source pages a scenario may have. */
export const MAX_PAGES = 64;

/** Actors per scenario and operations per actor. */
export const MAX_ACTORS = 16;
export const MAX_OPS = 64;
