/**
 * Schedule entries: which actor takes the next step and, when that step branches (`w.choose(n)`),
 * which alternative it takes. One int: the actor in the low 16 bits, the choice above; an entry of
 * a step that does not branch is just the actor index, so schedules without choices are plain
 * actor lists.
 */
export const MAX_ACTORS = 1 << 16;

export function entryOf(actor: number, choice: number): number {
  return actor + choice * MAX_ACTORS;
}

export function entryActor(entry: number): number {
  return entry % MAX_ACTORS;
}

export function entryChoice(entry: number): number {
  return Math.floor(entry / MAX_ACTORS);
}
