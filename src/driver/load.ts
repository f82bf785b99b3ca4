/**
 * Loading a driver module for `--driver FILE`: `.ts`/`.mts` through tsx (already installed with
 * the package: no build step, no network), `.js`/`.mjs` as they are; `vmamirror` in the file
 * resolves to the running package (hooks.ts). Its default export (or a named export `driver`)
 * must be made by `defineDriver`; it joins the designs of this run. Every failure is a
 * `DriverError` naming the file.
 */
import { statSync } from 'node:fs';
import { register } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { addLoadedVariant, loadedVariants, variantByName } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import { DriverError, isDriver } from './define.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
/** Where each loaded driver came from, by design name (for error messages). */
const files = new Map<string, string>();
/** Absolute path -> the file as given, for every loaded driver. */
const absolute = new Map<string, string>();
let hooked = false;

/** The file a loaded driver came from (as given on the command line), by its name. */
export function driverFile(name: string): string | undefined {
  return files.get(name);
}

/** The loaded drivers whose routines a message names: `[file, routine]` of the first it names. */
export function driverNamedIn(message: string): { file: string; routine: string } | undefined {
  for (const d of loadedVariants()) {
    for (const r of d.library.routines) {
      if (new RegExp(`(^|[^\\w])${r.name}([^\\w]|$)`).test(message)) return { file: files.get(d.name) ?? d.name, routine: r.name };
    }
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

/** Imports `path` as a driver module and adds its driver to this run's designs. */
export async function loadDriver(path: string, shown: (s: string) => string): Promise<MirrorVariant> {
  const file = shown(path);
  const abs = resolve(path);
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new DriverError(`--driver ${file}: no such file`);
  if (!st.isFile()) throw new DriverError(`--driver ${file}: not a regular file; expected a .ts, .mts, .js or .mjs module`);
  const ext = extname(abs).toLowerCase();
  if (!EXTENSIONS.includes(ext)) throw new DriverError(`--driver ${file}: expected a .ts, .mts, .js or .mjs module, got "${shown(ext || 'no extension')}"`);
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
  const url = pathToFileURL(abs).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof DriverError) throw new DriverError(`--driver ${file}: ${e.message}`);
    throw new DriverError(`--driver ${file}: cannot load the module: ${shown(firstLine(e))}`);
  }
  const d = mod.default ?? mod.driver;
  if (d === undefined) throw new DriverError(`--driver ${file}: exports no driver; expected \`export default defineDriver({...})\` (or \`export const driver = defineDriver({...})\`)`);
  if (!isDriver(d))
    throw new DriverError(
      `--driver ${file}: its ${mod.default !== undefined ? 'default export' : 'export `driver`'} is not a driver; expected the result of defineDriver({...}) imported from 'vmamirror'`,
    );
  const other = variantByName(d.name);
  if (other === d) throw new DriverError(`--driver ${file}: given twice`);
  if (other) throw new DriverError(`--driver ${file}: driver "${d.name}" is also the name of ${files.has(d.name) ? `the driver in ${files.get(d.name)}` : 'a built-in design'}`);
  files.set(d.name, file);
  absolute.set(abs, file);
  addLoadedVariant(d);
  return d;
}

/** Forgets every loaded driver (a command starts without any). */
export function clearDrivers(): void {
  files.clear();
  absolute.clear();
}

/** The file of the loaded driver whose code an error's stack passes through, if any. */
export function driverInStack(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  for (const [abs, file] of absolute) if (stack.includes(abs) || stack.includes(pathToFileURL(abs).href)) return file;
  return undefined;
}
