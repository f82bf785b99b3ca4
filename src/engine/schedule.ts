/**
 * Schedule strings: a counterexample as `SCENARIO/VARIANT:CHOICES`, where CHOICES are actor
 * indices separated by dots and runs of one actor are written `a*n`. Example:
 * `introspect/start-only:1*9.2*14.1*10` — intro 9 steps, kcompactd 14 steps, intro 10 steps.
 * Replaying it from the scenario's initial state reproduces the identical trace.
 */
export interface ParsedSchedule {
  readonly scenario: string;
  readonly variant: string;
  readonly choices: readonly number[];
}

export class ScheduleSyntaxError extends Error {}

export function encodeChoices(choices: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < choices.length; ) {
    let j = i;
    while (j < choices.length && choices[j] === choices[i]) j++;
    parts.push(j - i === 1 ? `${choices[i]}` : `${choices[i]}*${j - i}`);
    i = j;
  }
  return parts.join('.');
}

export function encodeSchedule(scenario: string, variant: string, choices: readonly number[]): string {
  return `${scenario}/${variant}:${encodeChoices(choices)}`;
}

export function decodeSchedule(text: string): ParsedSchedule {
  const m = /^([^/:\s]+)\/([^/:\s]+):([0-9*.]*)$/.exec(text.trim());
  if (!m) throw new ScheduleSyntaxError(`schedule "${text}": expected SCENARIO/VARIANT:CHOICES, e.g. introspect/interval:0*3.1.2*4`);
  const choices: number[] = [];
  if (m[3] !== '') {
    for (const part of m[3].split('.')) {
      const r = /^(\d+)(?:\*(\d+))?$/.exec(part);
      if (!r) throw new ScheduleSyntaxError(`schedule "${text}": "${part}" is not an actor index or index*count`);
      const n = r[2] === undefined ? 1 : Number(r[2]);
      if (n < 1) throw new ScheduleSyntaxError(`schedule "${text}": "${part}" repeats zero times`);
      for (let k = 0; k < n; k++) choices.push(Number(r[1]));
    }
  }
  return { scenario: m[1], variant: m[2], choices };
}
