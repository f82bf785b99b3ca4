/**
 * Reading a JSON document the user gives (a shard result for `merge`, a trail for `replay`):
 * bounded, a regular file, and checked field by field, the first problem exit 2 with one line
 * naming the file and the path inside it.
 */
import { readFileSync, statSync } from 'node:fs';
import { fail } from './exit.js';
import { shown } from './text.js';

/** The JSON in `file`, which must be a regular file of at most `maxBytes`; `what` names the document in errors. */
export function readJsonFile(file: string, what: string, maxBytes: number): unknown {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) fail(`${shown(file)}: no such file`);
  if (!st.isFile()) fail(`${shown(file)}: not a regular file`);
  if (st.size > maxBytes) fail(`${shown(file)}: ${st.size} bytes is too large for ${what}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    return fail(`${shown(file)}: not ${what} (${shown((e as Error).message)})`);
  }
}

export type Obj = Record<string, unknown>;

/** Reports a problem at `where` (file and path inside it). */
export class At {
  constructor(readonly where: string) {}
  in(key: string | number): At {
    return new At(typeof key === 'number' ? `${this.where}[${key}]` : `${this.where}.${key}`);
  }
  bad(what: string): never {
    return fail(`${this.where}: ${what}`);
  }
}

export function obj(v: unknown, at: At): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) at.bad('expected an object');
  return v as Obj;
}

export function count(o: Obj, key: string, at: At, min = 0): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) at.in(key).bad(`expected an integer >= ${min}, got ${shown(JSON.stringify(v) ?? 'nothing')}`);
  return v as number;
}

export function amount(o: Obj, key: string, at: At, optional = false): void {
  const v = o[key];
  if (optional && v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) at.in(key).bad(`expected a non-negative number, got ${shown(JSON.stringify(v) ?? 'nothing')}`);
}

export function text(o: Obj, key: string, at: At): string {
  const v = o[key];
  if (typeof v !== 'string') at.in(key).bad('expected a string');
  return v as string;
}

export function oneOf<T extends string>(o: Obj, key: string, values: readonly T[], at: At): T {
  const v = o[key];
  if (typeof v !== 'string' || !values.includes(v as T)) at.in(key).bad(`expected one of ${values.join(', ')}, got ${shown(JSON.stringify(v) ?? 'nothing')}`);
  return v as T;
}
