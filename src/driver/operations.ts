/**
 * Operations a driver declares (`DriverSpec.operations`) for scenario files to name: its device's
 * jobs, ioctls and workers, run by an actor as `{ op: device, call: NAME, page: N, write: true }`
 * (src/scenario/operations.ts). Each is a routine of the driver's library with params
 * (dev, page, write): the device (the op's `device`, 0 unless designs run side by side), the page
 * the operation is about and whether it writes.
 */
import { Routine, type AnyRoutine } from '../world/routine.js';
import type { Library } from '../world/registry.js';
import type { MirrorVariant } from '../mirror/device.js';
import { DriverError } from './define.js';

/** One operation of the driver's device. */
export interface DriverOperation {
  /** What `call:` names it by: lower-case letters, digits and dashes. */
  readonly name: string;
  /** One line: what the device does. */
  readonly description: string;
  /** A routine of the driver's library with params (dev, page, write). */
  readonly routine: AnyRoutine;
}

/** The operations of each driver, by its library (a mutant or an era's view of it shares or uses that library). */
const declared = new WeakMap<Library, readonly DriverOperation[]>();

/** Checks a driver's `operations` and records them for its library; `bad` throws the DriverError. */
export function declareOperations(at: string, lib: Library, operations: unknown, bad: (what: string) => never): void {
  if (operations === undefined) return;
  if (!Array.isArray(operations)) bad(`${at}: operations: expected a list of { name, description, routine }`);
  const names = new Set<string>();
  const ops = (operations as unknown[]).map((o, i) => {
    const where = `${at}: operations[${i}]`;
    if (typeof o !== 'object' || o === null) bad(`${where}: expected { name, description, routine }`);
    const { name, description, routine } = o as DriverOperation;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name)) bad(`${where}: name: expected lower-case letters, digits and dashes, got ${JSON.stringify(name)}`);
    if (names.has(name)) bad(`${where}: name "${name}" is listed twice`);
    names.add(name);
    if (typeof description !== 'string' || !description.trim()) bad(`${where} (${name}): description: expected one line saying what the device does`);
    if (!(routine instanceof Routine) || routine.library !== lib) bad(`${where} (${name}): routine: expected a routine of the driver's library ${lib.name}`);
    if (routine.params.length !== 3) bad(`${where} (${name}): routine ${routine.name} takes ${routine.params.length} params; expected 3 (dev, page, write)`);
    return Object.freeze({ name, description, routine });
  });
  declared.set(lib, ops);
}

/** The operations `design` declares (through its library or any library it uses), in order. */
export function operationsOf(design: Pick<MirrorVariant, 'library'>): readonly DriverOperation[] {
  const seen = new Set<Library>();
  const found: DriverOperation[] = [];
  const visit = (l: Library) => {
    if (seen.has(l)) return;
    seen.add(l);
    found.push(...(declared.get(l) ?? []));
    l.uses.forEach(visit);
  };
  visit(design.library);
  return found;
}

/** The routine of `design`'s operation `name`, for scenario `scenario`; one it does not declare is a DriverError. */
export function driverOperation(design: MirrorVariant, name: string, scenario: string): AnyRoutine {
  const ops = operationsOf(design);
  const op = ops.find((o) => o.name === name);
  if (op) return op.routine;
  const has = ops.length ? `it declares ${ops.map((o) => o.name).join(', ')}` : 'it declares none';
  throw new DriverError(
    `scenario ${scenario}: device operation "${name}": design ${design.name} has no such operation (${has}); check the scenario only with designs that declare it (--driver FILE, --variant NAME)`,
  );
}
