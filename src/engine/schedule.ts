/**
 * Schedule strings: a counterexample as `SCENARIO/VARIANT:CHOICES`, where CHOICES are actor
 * indices separated by dots and runs of one actor are written `a*n`. Example:
 * `introspect/start-only:1*9.2*14.1*10` — intro 9 steps, kcompactd 14 steps, intro 10 steps.
 * A step that branches (`w.choose`: an injected fault) and takes alternative k > 0 is written
 * `acK` (`1c1`: actor 1's step takes alternative 1). Replaying it from the scenario's initial
 * state reproduces the identical trace.
 */
import { entryActor, entryChoice, entryOf, MAX_ACTORS } from '../world/entry.js';
export interface ParsedSchedule {
  readonly scenario: string;
  readonly variant: string;
  readonly choices: readonly number[];
}

export class ScheduleSyntaxError extends Error {}

/** The longest schedule a string may expand to (checked before expanding: `1*2147483648` is refused, not allocated). */
export const MAX_SCHEDULE_STEPS = 10_000_000;

export function encodeChoices(choices: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < choices.length; ) {
    let j = i;
    while (j < choices.length && choices[j] === choices[i]) j++;
    const e = choices[i];
    const one = entryChoice(e) > 0 ? `${entryActor(e)}c${entryChoice(e)}` : `${e}`;
    parts.push(j - i === 1 ? one : `${one}*${j - i}`);
    i = j;
  }
  return parts.join('.');
}

export function encodeSchedule(scenario: string, variant: string, choices: readonly number[]): string {
  return `${scenario}/${variant}:${encodeChoices(choices)}`;
}

export function decodeSchedule(text: string): ParsedSchedule {
  const m = /^([^/:\s]+)\/([^/:\s]+):([0-9c*.]*)$/.exec(text.trim());
  if (!m) throw new ScheduleSyntaxError(`schedule "${text}": expected SCENARIO/VARIANT:CHOICES, e.g. introspect/interval:0*3.1.2*4`);
  const choices: number[] = [];
  if (m[3] !== '') {
    for (const part of m[3].split('.')) {
      const r = /^(\d+)(?:c(\d+))?(?:\*(\d+))?$/.exec(part);
      if (!r) throw new ScheduleSyntaxError(`schedule "${text}": "${part}" is not an actor index, index*count or indexcALTERNATIVE`);
      const actor = Number(r[1]);
      const alt = r[2] === undefined ? 0 : Number(r[2]);
      if (actor >= MAX_ACTORS) throw new ScheduleSyntaxError(`schedule "${text}": actor ${r[1]} is out of range`);
      const n = r[3] === undefined ? 1 : Number(r[3]);
      if (n < 1) throw new ScheduleSyntaxError(`schedule "${text}": "${part}" repeats zero times`);
      if (choices.length + n > MAX_SCHEDULE_STEPS) throw new ScheduleSyntaxError(`schedule "${text.slice(0, 80)}": more than ${MAX_SCHEDULE_STEPS} steps`);
      for (let k = 0; k < n; k++) choices.push(entryOf(actor, alt));
    }
  }
  return { scenario: m[1], variant: m[2], choices };
}
