/**
 * A world of one object of `def` and actors with roles, each running one routine of `lib` from a
 * stack two frames deep: the small engine tests' models (termination, counters).
 */
import { Layout, type ActorRole, type StructDef } from '../../src/world/layout.js';
import { type Library, Model } from '../../src/world/registry.js';
import { World } from '../../src/world/world.js';
import type { AnyRoutine } from '../../src/world/routine.js';

export type RoleActor = readonly [name: string, role: ActorRole, routine: AnyRoutine];

export function roleWorld(def: StructDef, lib: Library, actors: readonly RoleActor[], init?: (w: World) => void): World {
  const L = new Layout();
  L.add(def, 1);
  L.addStacks(
    actors.map((a) => a[0]),
    2,
    new Model([lib]),
    actors.map((a) => a[1]),
  );
  const w = new World(L);
  init?.(w);
  for (const [i, [, , r]] of actors.entries()) w.spawn(i, r, []);
  return w;
}
