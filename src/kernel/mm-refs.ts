/**
 * mm_struct lifetime references (kernel/fork.c, include/linux/sched/mm.h). `mm_users` keeps the
 * address space (VMAs, page tables) alive: when it reaches zero, exit_mmap tears it down.
 * `mm_count` keeps only the struct alive. The final mmput is the routine `mmput` in
 * ops/exit.ts because it runs exit_mmap.
 */
import type { World } from '../world/world.js';
import { MM } from './structs.js';

// include/linux/sched/mm.h:mmget
export function mmget(w: World, mm: number): void {
  const m = w.obj(MM, mm);
  if (m.users <= 0) w.bug(`mmget on mm ${mm} whose mm_users is ${m.users}`);
  m.users = m.users + 1;
}

// include/linux/sched/mm.h:mmget_not_zero — fails once the mm has begun to exit.
export function mmgetNotZero(w: World, mm: number): boolean {
  const m = w.obj(MM, mm);
  if (m.users <= 0) return false;
  m.users = m.users + 1;
  return true;
}

// include/linux/sched/mm.h:mmgrab
export function mmgrab(w: World, mm: number): void {
  const m = w.obj(MM, mm);
  m.count = m.count + 1;
}

// include/linux/sched/mm.h:mmdrop
export function mmdrop(w: World, mm: number): void {
  const m = w.obj(MM, mm);
  if (m.count <= 0) w.bug(`mmdrop on mm ${mm} with mm_count ${m.count}`);
  m.count = m.count - 1;
}
