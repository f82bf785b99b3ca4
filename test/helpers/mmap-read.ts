/**
 * Set-up for a routine whose caller holds mmap_read_lock (handle_mm_fault, GUP, a ->fault): the mm's
 * reader count, and every actor's own read hold (`task.readLocks`, what lockdep and the lock
 * discipline read to tell which actor reads), as if each had taken it.
 */
import { MM, TASK } from '../../src/kernel/structs.js';
import type { World } from '../../src/world/world.js';

export function holdMmapRead(w: World, mm: number): void {
  w.obj(MM, mm).mmapReaders = 1;
  for (let a = 0; a < w.layout.actorNames.length; a++) w.obj(TASK, a).readLocks = 1;
}
