/**
 * A classic mmu_notifier subscriber for tests: its invalidate_range_start/end and release append
 * an entry to a log kept in the world (a test-only region), so a test can assert which events
 * fired, with which range and blockability, and — through the trace — in which order relative to
 * pte changes and page frees.
 */
import { defineStruct, type Layout } from '../../src/world/layout.js';
import type { World } from '../../src/world/world.js';
import type { TraceStep } from '../../src/world/runner.js';
import { mmuNotifierRegister } from '../../src/kernel/notifier/mmu-notifier.js';
import { EVENT_NAMES } from '../../src/kernel/flags.js';
import { pte } from '../../src/kernel/pgtable.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

export const RECORDER_LIB = new Library('test-recorder', [KERNEL]);

export const LOG = defineStruct('testLog', ['kind', 'mm', 'start', 'end', 'event', 'blockable', 'pfnAtStart'] as const);
const KIND_START = 1;
const KIND_END = 2;
const KIND_RELEASE = 3;
const LOG_SIZE = 24;

function append(w: World, kind: number, mm: number, start: number, end: number, event: number, blockable: number): void {
  for (let i = 0; i < LOG_SIZE; i++) {
    const e = w.obj(LOG, i);
    if (e.kind !== 0) continue;
    e.kind = kind;
    e.mm = mm;
    e.start = start;
    e.end = end;
    e.event = event;
    e.blockable = blockable;
    // What the pte held when the callback ran: the test's observation, not an access of the model.
    e.pfnAtStart = start < w.layout.dims.mmPages ? w.instrument(() => pte(w, mm, start).pfn) : 0;
    return;
  }
  throw new Error('test recorder log is full');
}

export const recorderStart = RECORDER_LIB.routine({
  name: 'test_recorder_invalidate_range_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    record: {
      at: 'test:recorder',
      run: (w, l) => {
        append(w, KIND_START, l.mm, l.start, l.end, l.event, l.blockable);
        return w.ret(0);
      },
    },
  },
});

export const recorderEnd = RECORDER_LIB.routine({
  name: 'test_recorder_invalidate_range_end',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    record: {
      at: 'test:recorder',
      run: (w, l) => {
        append(w, KIND_END, l.mm, l.start, l.end, l.event, l.blockable);
        return w.ret(0);
      },
    },
  },
});

export const recorderRelease = RECORDER_LIB.routine({
  name: 'test_recorder_release',
  params: ['mn', 'mm'],
  steps: {
    record: {
      at: 'test:recorder',
      run: (w, l) => {
        append(w, KIND_RELEASE, l.mm, 0, 0, 0, 1);
        return w.ret(0);
      },
    },
  },
});

/** Pass to buildWorld as `extraRegions`. */
export function declareRecorder(layout: Layout): void {
  layout.add(LOG, LOG_SIZE);
}

/** Registers the recorder as classic notifier `mn` on `mm`. */
export function attachRecorder(w: World, mm: number, mn = 0): void {
  mmuNotifierRegister(w, mn, mm, { invalidateRangeStart: recorderStart, invalidateRangeEnd: recorderEnd, release: recorderRelease }, 0);
}

export interface LoggedEvent {
  kind: 'start' | 'end' | 'release';
  mm: number;
  start: number;
  end: number;
  event: (typeof EVENT_NAMES)[number];
  blockable: boolean;
  pfnAtStart: number;
}

/** The recorded callbacks, in order. */
export function recorded(w: World): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (let i = 0; i < LOG_SIZE; i++) {
    const e = w.obj(LOG, i);
    if (e.kind === 0) break;
    out.push({
      kind: e.kind === KIND_START ? 'start' : e.kind === KIND_END ? 'end' : 'release',
      mm: e.mm,
      start: e.start,
      end: e.end,
      event: EVENT_NAMES[e.event],
      blockable: e.blockable === 1,
      pfnAtStart: e.pfnAtStart,
    });
  }
  return out;
}

/** Index of the first trace step that ran `routine` (optionally at `label`), or -1. */
export function stepIndex(trace: readonly TraceStep[], routine: string, label?: string): number {
  return trace.findIndex((s) => s.where === (label ? `${routine}:${label}` : s.where) && s.where.startsWith(`${routine}:`));
}

/** Index of the first trace step that changed `what` (e.g. `pte[source@0].present`), optionally to `to`. */
export function changeIndex(trace: readonly TraceStep[], what: string, to?: number): number {
  return trace.findIndex((s) => s.changes.some((c) => c.what === what && (to === undefined || c.to === to)));
}
