/**
 * The violations a search keeps: one per shape (the check, and its message with numbers blanked),
 * up to how many were asked for (`ExploreOptions.maxViolations`). Both searches — one thread
 * (exhaustive.ts) and several (parallel.ts, which takes each level's in the one-thread order) —
 * keep them so.
 */
import type { Found, Violation } from './verdict.js';

/** What makes two violations the same for `maxViolations`: the check, and its message with numbers blanked. */
export function violationShape(v: Found): string {
  return `${v.property}: ${v.message.replace(/\d+/g, '#')}`;
}

export class Findings {
  /** The violations kept, in the order they were met. */
  readonly list: Violation[] = [];
  private readonly shapes = new Set<string>();

  constructor(readonly max: number) {}

  /** Records `v` unless one of its shape is known; true when that makes enough. */
  add(v: Violation): boolean {
    const shape = violationShape(v);
    if (!this.shapes.has(shape)) {
      this.shapes.add(shape);
      this.list.push(v);
    }
    return this.list.length >= this.max;
  }
}
