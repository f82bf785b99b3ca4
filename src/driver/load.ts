/**
 * Loading a driver module for `--driver FILE`: `.ts`/`.mts` through tsx (already installed with
 * the package: no build step, no network), `.js`/`.mjs` as they are; `vmamirror` in the file
 * resolves to the running package (hooks.ts). Its default export (or a named export `driver`)
 * must be made by `defineDriver`; it joins the designs of this run. `--era FILE` likewise, made by
 * `defineEra` (era.ts). Every failure is a `DriverError` naming the file.
 */
import { statSync } from 'node:fs';
import { register } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { addLoadedVariant, loadedVariants, VARIANTS, variantByName } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import { DriverError, isDriver } from './define.js';
import { isEra, withEra, type Era } from './era.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
/** Where each loaded driver came from, by design name (for error messages). */
const files = new Map<string, string>();
/** Absolute path -> the file as given, for every loaded driver. */
const absolute = new Map<string, string>();
/** The eras loaded for this run. */
const eras: Era[] = [];
let hooked = false;

/** The file a loaded driver came from (as given on the command line), by its name. */
export function driverFile(name: string): string | undefined {
  return files.get(name);
}

/**
 * The loaded driver or era a model error's message names (one of its routines, or its library),
 * so the error can say which file to fix: `{ what: 'driver' | 'era', file, routine? }`.
 */
export function driverNamedIn(message: string): { what: string; file: string; routine?: string } | undefined {
  const named = [...loadedVariants().map((d) => ({ key: d.name, lib: d.library })), ...eras.map((e) => ({ key: `@${e.name}`, lib: e.library }))];
  const word = (name: string) => new RegExp(`(^|[^\\w-])${name}([^\\w-]|$)`).test(message);
  for (const { key, lib } of named) {
    if (!files.has(key)) continue; // an era's view of a design: its routines are the design's and the era's
    const what = key.startsWith('@') ? 'era' : 'driver';
    const file = files.get(key)!;
    const routine = lib.routines.find((r) => word(r.name));
    if (routine) return { what, file, routine: routine.name };
    if (word(`library ${lib.name}`)) return { what, file };
  }
  return undefined;
}

/** The line of an import's error that says what is wrong: esbuild's `file:line:col: ERROR: …` under its "Transform failed" heading, else the first. */
function firstLine(e: unknown): string {
  const lines = (e instanceof Error ? e.message : String(e))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l);
  return lines.find((l) => /: ERROR: /.test(l)) ?? lines[0] ?? 'unknown error';
}

/** Imports the module at `path` (given as `flag FILE`) and returns its exports; failures are `DriverError`s naming the file. */
async function importModule(flag: string, path: string, shown: (s: string) => string): Promise<Record<string, unknown>> {
  const file = shown(path);
  const abs = resolve(path);
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new DriverError(`${flag} ${file}: no such file`);
  if (!st.isFile()) throw new DriverError(`${flag} ${file}: not a regular file; expected a .ts, .mts, .js or .mjs module`);
  const ext = extname(abs).toLowerCase();
  if (!EXTENSIONS.includes(ext)) throw new DriverError(`${flag} ${file}: expected a .ts, .mts, .js or .mjs module, got "${shown(ext || 'no extension')}"`);
  const self = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  if (!hooked) {
    // tsx for TypeScript, registered for the whole thread, not namespaced: a namespaced import
    // would load the package a second time under its own URLs (two kernels). Then ours, which runs
    // first: `vmamirror` is the running package, and a driver's TypeScript is ESM wherever it lives.
    const { register: registerTsx } = await import('tsx/esm/api');
    registerTsx({ tsconfig: false });
    register(new URL(`./hooks.${self}`, import.meta.url), { data: { entry: new URL(`../index.${self}`, import.meta.url).href } });
    hooked = true;
  }
  absolute.set(abs, file);
  try {
    return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof DriverError) throw new DriverError(`${flag} ${file}: ${e.message}`);
    throw new DriverError(`${flag} ${file}: cannot load the module: ${shown(firstLine(e))}`);
  }
}

/** Imports `path` as a driver module and adds its driver to this run's designs. */
export async function loadDriver(path: string, shown: (s: string) => string): Promise<MirrorVariant> {
  const file = shown(path);
  const mod = await importModule('--driver', path, shown);
  const d = mod.default ?? mod.driver;
  if (d === undefined) throw new DriverError(`--driver ${file}: exports no driver; expected \`export default defineDriver({...})\` (or \`export const driver = defineDriver({...})\`)`);
  if (!isDriver(d))
    throw new DriverError(
      `--driver ${file}: its ${mod.default !== undefined ? 'default export' : 'export `driver`'} is not a driver; expected the result of defineDriver({...}) imported from 'vmamirror'`,
    );
  // The built-in designs are made by defineDriver too: one re-exported is not a driver of the file's own.
  if (VARIANTS.includes(d)) throw new DriverError(`--driver ${file}: exports the built-in design ${d.name}; select it with --variant ${d.name}, or define a driver of your own with defineDriver`);
  const other = variantByName(d.name);
  if (other === d) throw new DriverError(`--driver ${file}: given twice`);
  if (other) throw new DriverError(`--driver ${file}: driver "${d.name}" is also the name of ${files.has(d.name) ? `the driver in ${files.get(d.name)}` : 'a built-in design'}`);
  files.set(d.name, file);
  addLoadedVariant(d);
  return d;
}

/** Imports `path` as an era module (src/driver/era.ts): its default export (or `era`) made by `defineEra`. */
export async function loadEra(path: string, shown: (s: string) => string): Promise<Era> {
  const file = shown(path);
  const mod = await importModule('--era', path, shown);
  const e = mod.default ?? mod.era;
  if (e === undefined) throw new DriverError(`--era ${file}: exports no era; expected \`export default defineEra({...})\` (or \`export const era = defineEra({...})\`)`);
  if (!isEra(e))
    throw new DriverError(`--era ${file}: its ${mod.default !== undefined ? 'default export' : 'export `era`'} is not an era; expected the result of defineEra({...}) imported from 'vmamirror'`);
  files.set(`@${e.name}`, file);
  eras.push(e);
  return e;
}

/** `designs` run on `era` (`design@era`), added to this run's designs so schedules naming them replay. */
export function onEra(designs: readonly MirrorVariant[], era: Era): MirrorVariant[] {
  return designs.map((d) => {
    const name = `${d.name}@${era.name}`;
    const known = variantByName(name);
    if (known) return known;
    const v = withEra(d, era);
    addLoadedVariant(v);
    return v;
  });
}

/** Forgets every loaded driver (a command starts without any). */
export function clearDrivers(): void {
  files.clear();
  absolute.clear();
  eras.length = 0;
}

/** The file of the loaded driver whose code an error's stack passes through, if any. */
export function driverInStack(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  for (const [abs, file] of absolute) if (stack.includes(abs) || stack.includes(pathToFileURL(abs).href)) return file;
  return undefined;
}
