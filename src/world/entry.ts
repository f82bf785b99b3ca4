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

/**
 * A merged transition's schedule entries, appended to `out`: its first step's `entry` (with the
 * alternative it took, if it branched), then `steps - 1` plain steps of the same actor.
 */
export function transitionEntries(entry: number, steps: number, out: number[] = []): number[] {
  out.push(entry);
  for (let k = 1; k < steps; k++) out.push(entryActor(entry));
  return out;
}
