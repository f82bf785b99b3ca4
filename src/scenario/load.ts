/**
 * Scenario files (YAML or JSON) → ScenarioSpec. A file is validated against the JSON Schema
 * `schema.json` (shipped next to this module) and then by the checks a schema cannot express;
 * every problem is reported through one `ScenarioError` whose message lines read
 *
 *   file:line:column: path.inside[1].the.file: what was found; what was expected
 *
 * Files are plain data: nothing in them is ever executed (see source.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { MirrorVariant } from '../mirror/device.js';
import { VARIANTS, variantByName } from '../mirror/variants.js';
import type { ActorSpec, FaultPoint, KernelLayer, KvmOptions, MemoryKind, Observation, OutcomeSpec, ScenarioSpec } from './spec.js';
import { MAX_PAGES } from './bounds.js';
import { fieldProblems, OP_NAMES, operationNamed, pageRange, threadOf, type Op, type ScenarioFacts } from './operations.js';
import { readScenarioText, secondYamlDocument, sniffFormat, STDIN_NAME, UnreadableScenario } from './read-file.js';
import { readJson, readYaml, type Position, type Segment, type SourceIssue, type SourceTable } from './source.js';
import { expectIssues, verdictNames, type ExpectEntry } from './expect.js';
import { outcomeIssues, outcomesOf } from './outcome.js';
import { symmetricIssues } from './symmetric.js';

export type ScenarioFormat = 'yaml' | 'json';

export interface LoadedScenario {
  /** The file name as given (used in messages). */
  readonly file: string;
  readonly format: ScenarioFormat;
  readonly spec: ScenarioSpec;
  /** The built-in variants the scenario applies to: those it names (in `variant(s)` or `expect`), or all of them when it names no design. */
  readonly variants: readonly MirrorVariant[];
  /** Every driver module the file names (`driver(s)`, `expect[i].driver`), once each, in order: loaded before the file is used (designs.ts). */
  readonly drivers: readonly DriverRef[];
  /** Every era module the `expect` entries name (`expect[i].era`), once each: loaded with the drivers. */
  readonly eras: readonly DriverRef[];
  /** The `expect` entries as written (checked against the designs once the drivers are loaded: designs.ts). */
  readonly expect: readonly ExpectEntry[];
  /** Problems found after loading (a pattern naming no routine of the design), as the loader reports its own: with line and key path. */
  problems(issues: readonly Issue[]): ScenarioError;
  /** `file:line` of the value at `path` (the file name alone where it has no position). */
  place(path: readonly Segment[]): string;
}

/** A driver module a scenario file names. */
export interface DriverRef {
  /** As written in the file. */
  readonly written: string;
  /** The module to load: `written` resolved against the scenario file's folder (standard input: the working folder). */
  readonly path: string;
  /** Where the file first names it. */
  readonly at: readonly Segment[];
}

export interface ScenarioProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Display form of the path inside the file, e.g. `actors[1].ops[0].page` ('' for the whole file). */
  readonly path: string;
  /** What was found and what was expected. */
  readonly message: string;
}

/** Most problems spelt out in one error message. */
const MAX_LISTED = 20;

/** Everything wrong with a scenario file, one problem a line; the message starts with the file name. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly file: string;
  readonly problems: readonly ScenarioProblem[];

  constructor(file: string, problems: readonly ScenarioProblem[]) {
    const lines = problems.slice(0, MAX_LISTED).map(formatProblem);
    if (problems.length > MAX_LISTED) lines.push(`${file}: … and ${problems.length - MAX_LISTED} more problems`);
    super(lines.join('\n'));
    this.file = file;
    this.problems = problems;
  }
}

export function formatProblem(p: ScenarioProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** `actors[1].ops[0].page`; keys that are not plain identifiers are quoted: `actors[0]["a b"]`. */
export function displayPath(path: readonly Segment[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The schema

/** Where the JSON Schema of scenario files lives (next to this module, in src/ and in dist/). */
export const SCHEMA_URL = new URL('./schema.json', import.meta.url);

let cachedSchema: Record<string, unknown> | undefined;
let cachedValidate: ValidateFunction | undefined;

/** The JSON Schema of scenario files, as shipped. */
export function scenarioSchema(): Record<string, unknown> {
  cachedSchema ??= JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Record<string, unknown>;
  return cachedSchema;
}

function validator(): ValidateFunction {
  if (!cachedValidate) {
    // The variant names are the live list (the shipped enum is for editors; a test keeps them equal).
    const schema = structuredClone(scenarioSchema()) as { $defs: { variantName: { enum: string[] }; verdict: { enum: string[] } } };
    schema.$defs.variantName.enum = VARIANTS.map((v) => v.name);
    schema.$defs.verdict.enum = verdictNames();
    const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strict: true, strictRequired: false });
    cachedValidate = ajv.compile(schema);
  }
  return cachedValidate;
}

// ---------------------------------------------------------------------------------------------
// Loading

export function formatOf(path: string): ScenarioFormat | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? 'yaml' : ext === '.json' ? 'json' : undefined;
}

/**
 * Reads, parses and validates a scenario file; the format comes from the extension (.yaml, .yml,
 * .json). `-` reads standard input (JSON if it starts with `{`, else YAML). What may be read, and
 * how much: read-file.ts.
 */
export function loadScenarioFile(path: string): LoadedScenario {
  const name = path === '-' ? STDIN_NAME : path;
  const refuse = (message: string) => new ScenarioError(name, [{ file: name, path: '', message }]);
  let format = formatOf(path);
  if (!format && path !== '-') throw refuse(`unknown file type "${extname(path)}"; expected .yaml, .yml or .json`);
  let text: string;
  try {
    text = readScenarioText(path);
  } catch (e) {
    if (e instanceof UnreadableScenario) throw refuse(e.message);
    throw e;
  }
  format ??= sniffFormat(text);
  const second = format === 'yaml' ? secondYamlDocument(text) : undefined;
  if (second !== undefined) throw new ScenarioError(name, [{ file: name, line: second, column: 1, path: '', message: 'a second YAML document; a scenario file holds one' }]);
  return parseScenario(text, name, format);
}

/** Parses and validates scenario text; `fileName` is only used in messages. */
export function parseScenario(text: string, fileName: string, format: ScenarioFormat): LoadedScenario {
  const read = format === 'json' ? readJson(text) : readYaml(text);
  if (!read.ok)
    throw new ScenarioError(
      fileName,
      read.issues.map((i) => problem(fileName, i)),
    );
  const words = format === 'json' ? JSON_WORDS : YAML_WORDS;
  const validate = validator();
  if (!validate(read.data)) {
    throw errorFrom(fileName, read.table, [...schemaIssues(validate.errors ?? [], read.data, words), ...actorShapeIssues(read.data)]);
  }
  const file = read.data as FileData;
  const semantic = [...actorShapeIssues(read.data), ...semanticIssues(file)];
  if (semantic.length > 0) throw errorFrom(fileName, read.table, semantic);
  const spec = toSpec(file);
  const variants = spec.variants ? spec.variants.map((n) => variantByName(n)!) : VARIANTS;
  const folder = fileName === STDIN_NAME ? '' : dirname(fileName);
  const resolve = (written: string) => (isAbsolute(written) || !folder ? written : join(folder, written));
  const drivers: DriverRef[] = [];
  for (const { written, at } of driversNamed(file)) {
    const path = resolve(written);
    if (!drivers.some((d) => d.path === path)) drivers.push({ written, path, at });
  }
  const expect = (file.expect ?? []).map((e, i) => ({
    ...e,
    index: i,
    ...(e.driver !== undefined && { driver: typeof e.driver === 'string' ? resolve(e.driver) : e.driver.map(resolve) }),
    ...(e.era !== undefined && { era: resolve(e.era) }),
  }));
  const eras: DriverRef[] = [];
  (file.expect ?? []).forEach((e, i) => {
    const path = e.era === undefined ? undefined : resolve(e.era);
    if (path !== undefined && !eras.some((x) => x.path === path)) eras.push({ written: e.era!, path, at: ['expect', i, 'era'] });
  });
  return {
    file: fileName,
    format,
    spec,
    variants,
    drivers,
    eras,
    expect,
    problems: (issues) => errorFrom(fileName, read.table, issues),
    place: (path) => {
      const pos = read.table.locate(path);
      return pos ? `${fileName}:${pos.line}` : fileName;
    },
  };
}

/** The driver paths a file names, where each is written. */
function driversNamed(file: FileData): { written: string; at: Segment[] }[] {
  const out = file.driver !== undefined ? [{ written: file.driver, at: ['driver'] as Segment[] }] : (file.drivers ?? []).map((d, i) => ({ written: d, at: ['drivers', i] as Segment[] }));
  (file.expect ?? []).forEach((e, i) => {
    if (typeof e.driver === 'string') out.push({ written: e.driver, at: ['expect', i, 'driver'] });
    else for (const [k, d] of (e.driver ?? []).entries()) out.push({ written: d, at: ['expect', i, 'driver', k] });
  });
  return out;
}

export interface Issue {
  readonly path: readonly Segment[];
  /** Position of the value (default) or of its key. */
  readonly at?: 'value' | 'key';
  readonly message: string;
}

function problem(file: string, i: SourceIssue): ScenarioProblem {
  return { file, line: i.pos?.line, column: i.pos?.column, path: displayPath(i.path), message: i.message };
}

function errorFrom(file: string, table: SourceTable, issues: readonly Issue[]): ScenarioError {
  const located = issues.map((i) => ({ i, pos: table.locate(i.path, i.at) }));
  const seen = new Set<string>();
  const problems: ScenarioProblem[] = [];
  const byPlace = (a?: Position, b?: Position) => (a && b ? a.line - b.line || a.column - b.column : a ? -1 : b ? 1 : 0);
  for (const { i, pos } of located.sort((a, b) => byPlace(a.pos, b.pos))) {
    const p = problem(file, { path: i.path, pos, message: i.message });
    const text = formatProblem(p);
    if (seen.has(text)) continue;
    seen.add(text);
    problems.push(p);
  }
  return new ScenarioError(file, problems);
}

// ---------------------------------------------------------------------------------------------
// Schema errors → messages

interface Words {
  readonly object: string;
  readonly array: string;
}
const YAML_WORDS: Words = { object: 'a mapping', array: 'a list' };
const JSON_WORDS: Words = { object: 'an object', array: 'an array' };

function describe(v: unknown, words: Words): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? `an empty ${words.array.replace(/^an? /, '')}` : words.array;
  switch (typeof v) {
    case 'string': {
      const s = JSON.stringify(v);
      return s.length > 42 ? `${s.slice(0, 40)}…"` : s;
    }
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      return words.object;
    default:
      return typeof v;
  }
}

function typeWord(type: unknown, words: Words): string {
  switch (type) {
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return words.array;
    case 'object':
      return words.object;
    case 'null':
      return 'null';
    default:
      return String(type);
  }
}

const NOUNS: Record<string, [string, string]> = {
  actors: ['actor', 'actors'],
  ops: ['operation', 'operations'],
  variants: ['variant', 'variants'],
};
function count(n: number, field: Segment | undefined): string {
  const [one, many] = NOUNS[String(field)] ?? ['item', 'items'];
  return `${n} ${n === 1 ? one : many}`;
}

/** ajv's instance path (a JSON pointer) → segments, list indices as numbers. */
function segmentsOf(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const k = Number(key);
      out.push(k);
      cur = cur[k];
    } else {
      out.push(key);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function rootPages(data: unknown): number | undefined {
  const p = (data as { pages?: unknown }).pages;
  return Number.isInteger(p) && (p as number) >= 1 && (p as number) <= MAX_PAGES ? (p as number) : undefined;
}

/** Messages for ajv's errors, by keyword; at most one problem per value (its type, if that is wrong). */
function schemaIssues(errors: readonly ErrorObject[], data: unknown, words: Words): Issue[] {
  const typeWrong = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const out: Issue[] = [];
  const missing = new Map<string, { path: Segment[]; op?: string; fields: string[] }>();
  for (const e of errors) {
    if (e.keyword !== 'type' && typeWrong.has(e.instancePath) && e.keyword !== 'required' && e.keyword !== 'additionalProperties') continue;
    const path = segmentsOf(e.instancePath, data);
    const last = path[path.length - 1];
    const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
    const found = describe(e.data, words);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'type':
        if (path.length === 0) out.push({ path, message: `found ${found}; expected ${words.object} (a scenario with name, description, pages and actors)` });
        else out.push({ path, message: `found ${found}; expected ${typeWord(params.type, words)}` });
        break;
      case 'required': {
        const field = String(params.missingProperty);
        const op = (parent.properties as Record<string, { const?: string }> | undefined)?.op?.const;
        if (field === 'op') {
          out.push({ path, message: `missing required field "op"; expected an operation: one of ${OP_NAMES.join(', ')}` });
          break;
        }
        // All the fields missing from one object go on one line (added after the loop).
        const key = `${e.instancePath}\u0000${op ?? ''}`;
        const entry = missing.get(key) ?? { path, op, fields: [] };
        entry.fields.push(field);
        missing.set(key, entry);
        break;
      }
      case 'additionalProperties': {
        const field = String(params.additionalProperty);
        const allowed = Object.keys((parent.properties as object | undefined) ?? {});
        const op = (parent.properties as Record<string, { const?: string }> | undefined)?.op?.const;
        out.push({ path: [...path, field], at: 'key', message: `unknown field${op ? ` for op "${op}"` : ''}; expected one of ${allowed.join(', ')}` });
        break;
      }
      case 'discriminator':
        if (params.tagValue === undefined) break; // missing: reported by `required`
        out.push({
          path: [...path, 'op'],
          message:
            typeof params.tagValue === 'string'
              ? `unknown operation ${describe(params.tagValue, words)}; expected one of ${OP_NAMES.join(', ')}`
              : `found ${describe(params.tagValue, words)}; expected an operation name: one of ${OP_NAMES.join(', ')}`,
        });
        break;
      case 'enum': {
        const allowed = (params.allowedValues as unknown[]).map(String).join(', ');
        const isVariant = last === 'variant' || path[path.length - 2] === 'variants';
        const what = isVariant ? 'a mirror variant' : last === 'verdict' ? 'a verdict (holds, or the check that must fail)' : undefined;
        out.push({ path, message: what ? `${found} is not ${what}; expected one of ${allowed}` : `found ${found}; expected one of ${allowed}` });
        break;
      }
      case 'const':
        out.push({ path, message: `found ${found}; expected ${JSON.stringify(params.allowedValue)}` });
        break;
      case 'minimum':
      case 'maximum': {
        const pages = rootPages(data);
        const underOps = path.length === 5 && path[0] === 'actors' && path[2] === 'ops';
        if (underOps && last === 'page' && pages !== undefined) out.push({ path, message: `${found} is out of range; ${pageRange(pages)}` });
        else {
          const lo = parent.minimum as number | undefined;
          const hi = parent.maximum as number | undefined;
          const range = lo !== undefined && hi !== undefined ? `${lo}..${hi}` : lo !== undefined ? `≥ ${lo}` : `≤ ${hi}`;
          out.push({ path, message: `${found} is out of range; expected ${parent.type === 'integer' ? 'an integer' : 'a number'} ${range}` });
        }
        break;
      }
      case 'minItems': {
        const n = (e.data as unknown[]).length;
        out.push({ path, message: `found ${n === 0 ? describe([], words) : count(n, last)}; expected at least ${count(params.limit as number, last)}` });
        break;
      }
      case 'maxItems':
        out.push({ path, message: `found ${count((e.data as unknown[]).length, last)}; expected at most ${params.limit}` });
        break;
      case 'uniqueItems': {
        const i = Math.max(params.i as number, params.j as number);
        const j = Math.min(params.i as number, params.j as number);
        out.push({
          path: [...path, i],
          message: `${describe((e.data as unknown[])[i], words)} is listed twice (also ${displayPath([...path, j])}); expected each ${NOUNS[String(last)]?.[0] ?? 'item'} once`,
        });
        break;
      }
      case 'minLength':
        out.push({ path, message: `found ${found}; expected a non-empty string` });
        break;
      case 'pattern':
        out.push({ path, message: `found ${found}; expected a name of letters, digits, '_', '.' and '-', not starting with '.' or '-'` });
        break;
      case 'not':
        if (path.length === 0) out.push({ path: ['variants'], at: 'key', message: 'found both "variant" and "variants"; expected one of them' });
        else out.push({ path, message: `found ${found}; ${e.message ?? 'invalid'}` });
        break;
      case 'oneOf':
        break; // the discriminator reports which operation was meant
      default:
        out.push({ path, message: `found ${found}; expected a value that ${e.message ?? 'is valid'}` });
    }
  }
  for (const { path, op, fields } of missing.values()) {
    const names = fields.map((f) => `"${f}"`).join(', ');
    out.push({ path, message: `missing required field${fields.length > 1 ? 's' : ''} ${names}${op ? ` for op "${op}"` : ''}` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks beyond the schema

/** The file's data once the schema accepts it. */
interface FileData {
  readonly name: string;
  readonly description: string;
  readonly pages: number;
  readonly sourceKvm?: boolean;
  readonly introspectorKvm?: boolean;
  readonly kvm?: KvmOptions;
  readonly faults?: readonly FaultPoint[];
  readonly layers?: readonly KernelLayer[];
  readonly memory?: MemoryKind;
  readonly concreteCounters?: readonly string[];
  /** Each with `ops` or `any` (checked below: the schema lets either be missing). */
  readonly actors: readonly (Omit<ActorSpec, 'ops'> & { readonly ops?: readonly Op[] })[];
  readonly variant?: string;
  readonly variants?: readonly string[];
  readonly driver?: string;
  readonly drivers?: readonly string[];
  readonly expect?: readonly Omit<ExpectEntry, 'index'>[];
  readonly outcome?: readonly Observation[];
  readonly outcomes?: readonly OutcomeSpec[];
  readonly exercises?: readonly string[];
  readonly symmetric?: readonly (readonly string[])[];
}

function semanticIssues(file: FileData): Issue[] {
  const out: Issue[] = [];
  const names = VARIANTS.map((v) => v.name).join(', ');
  const checkVariant = (name: string, path: Segment[]) => {
    if (!variantByName(name)) out.push({ path, message: `${JSON.stringify(name)} is not a mirror variant; expected one of ${names}` });
  };
  if (file.variant !== undefined) checkVariant(file.variant, ['variant']);
  if (file.kvm !== undefined && !file.sourceKvm && !file.introspectorKvm)
    out.push({ path: ['kvm'], at: 'key', message: 'KVM settings but the scenario has no KVM; expected sourceKvm: true or introspectorKvm: true' });
  if ((file.kvm?.memslotPages ?? 0) > file.pages) out.push({ path: ['kvm', 'memslotPages'], message: `${file.kvm?.memslotPages} is more than the scenario's pages; expected at most ${file.pages}` });
  for (const [i, v] of (file.variants ?? []).entries()) checkVariant(v, ['variants', i]);
  if (file.driver !== undefined && file.drivers !== undefined) out.push({ path: ['drivers'], at: 'key', message: 'found both "driver" and "drivers"; expected one of them' });
  out.push(...expectIssues(file.expect ?? [], new Set(file.actors.map((a) => a.name))));
  out.push(...outcomeIssues(file, file.actors));

  // The operations' checks (operations.ts): each field by its kind, and at most one operation creating the child mm.
  const forks = file.actors.reduce((n, a) => n + (a.ops ?? []).filter((op) => operationNamed(op.op)!.createsChild).length, 0);
  const facts: ScenarioFacts = { pages: file.pages, sourceKvm: file.sourceKvm, introspectorKvm: file.introspectorKvm, forks, memory: file.memory };
  const firstNamed = new Map<string, number>();
  let firstFork: Segment[] | undefined;
  file.actors.forEach((actor, a) => {
    const prev = firstNamed.get(actor.name);
    if (prev !== undefined) out.push({ path: ['actors', a, 'name'], message: `${JSON.stringify(actor.name)} is already the name of actors[${prev}]; expected a unique actor name` });
    else firstNamed.set(actor.name, a);
    out.push(...anyIssues(actor, a, file.pages));
    (actor.ops ?? []).forEach((op: Op, o) => {
      const at: Segment[] = ['actors', a, 'ops', o];
      for (const { field, message } of fieldProblems(op, facts)) out.push({ path: [...at, field], message });
      if (operationNamed(op.op)!.usesMemfd && facts.memory !== 'memfd')
        out.push({ path: [...at, 'op'], message: `${op.op} acts on the scenario's memfd, which it does not have; expected memory: memfd` });
      const layer = operationNamed(op.op)!.needsLayer;
      if (layer && !file.layers?.includes(layer)) out.push({ path: [...at, 'op'], message: `${op.op} needs the ${layer} layer; expected layers: [${layer}] in the scenario` });
      if (operationNamed(op.op)!.createsChild) {
        if (firstFork) out.push({ path: at, message: `a second fork (the first is ${displayPath(firstFork)}); expected at most one fork (there is one child mm)` });
        else firstFork = at;
      }
    });
  });
  out.push(...exitIssues(file.actors));
  out.push(...symmetricIssues(file));
  return out;
}

/**
 * An exit is the process's last mmput, which comes after every one of its threads has gone: no
 * operation run by a thread of that process (`threadOf`) may follow it in the exiting actor, or
 * run in another actor at all (the kernel cannot fault on, unmap or fork an mm being torn down by
 * its own last user). Device ioctls, guests and kernel threads are not threads of it.
 */
function exitIssues(actors: FileData['actors']): Issue[] {
  const out: Issue[] = [];
  actors.forEach((actor, a) => {
    (actor.ops ?? []).forEach((op: Op, o) => {
      if (!operationNamed(op.op)!.endsMm) return;
      const mm = threadOf(op);
      const exitAt: Segment[] = ['actors', a, 'ops', o];
      actors.forEach((other, b) => {
        (other.ops ?? []).forEach((later: Op, k) => {
          if ((b === a && k <= o) || threadOf(later) !== mm) return;
          out.push({
            path: ['actors', b, 'ops', k],
            message:
              b === a
                ? `${later.op} of ${mm} after its exit (${displayPath(exitAt)}); expected nothing of the process once it has exited`
                : `${later.op} runs in a thread of ${mm}, which another actor exits (${displayPath(exitAt)}: its last mmput, after every thread of it has gone); expected ${mm}'s operations in the exiting actor, before the exit`,
          });
        });
      });
    });
  });
  return out;
}

/**
 * Each actor has either a list of operations or an `any` adversary — one of the two, which the
 * schema does not say (its `oneOf` would report neither case in words): checked on the file's data
 * as read, so that it is reported beside the schema's problems too.
 */
function actorShapeIssues(data: unknown): Issue[] {
  const actors = (data as { actors?: unknown } | null)?.actors;
  if (!Array.isArray(actors)) return [];
  return actors.flatMap((actor: unknown, a): Issue[] => {
    if (actor === null || typeof actor !== 'object' || Array.isArray(actor)) return [];
    const ops = Object.hasOwn(actor, 'ops');
    const any = Object.hasOwn(actor, 'any');
    if (ops && any) return [{ path: ['actors', a, 'any'], at: 'key', message: 'found both "ops" and "any"; expected one of them (a list of operations, or any sequence of them)' }];
    if (!ops && !any) return [{ path: ['actors', a], message: 'missing required field "ops" (or "any": any sequence of operations, e.g. any: { ops: 2, pages: 1 })' }];
    return [];
  });
}

/** An `any` adversary's pages are pages the scenario has. */
function anyIssues(actor: FileData['actors'][number], a: number, pages: number): Issue[] {
  if (actor.any !== undefined && actor.any.pages > pages)
    return [{ path: ['actors', a, 'any', 'pages'], message: `${actor.any.pages} is more than the scenario's pages; expected at most ${pages} (pages: ${pages})` }];
  return [];
}

function toSpec(file: FileData): ScenarioSpec {
  const spec: { -readonly [K in keyof ScenarioSpec]: ScenarioSpec[K] } = {
    name: file.name,
    description: file.description,
    pages: file.pages,
    actors: file.actors.map((a) => (a.any ? { name: a.name, ops: [], any: { ...a.any } } : { name: a.name, ops: (a.ops ?? []).map((op) => ({ ...op })) })),
  };
  if (file.sourceKvm !== undefined) spec.sourceKvm = file.sourceKvm;
  if (file.introspectorKvm !== undefined) spec.introspectorKvm = file.introspectorKvm;
  if (file.kvm !== undefined) spec.kvm = { ...file.kvm };
  if (file.faults !== undefined) spec.faults = [...new Set(file.faults)];
  if (file.layers !== undefined) spec.layers = [...new Set(file.layers)];
  if (file.memory !== undefined) spec.memory = file.memory;
  if (file.concreteCounters !== undefined) spec.concreteCounters = [...new Set(file.concreteCounters)];
  const outcomes = outcomesOf(file);
  if (outcomes) spec.outcomes = outcomes;
  if (file.exercises !== undefined) spec.exercises = [...file.exercises];
  if (file.symmetric !== undefined) spec.symmetric = file.symmetric.map((g) => [...g]);
  // The designs it names: its variants, then those its expectations name; none named is every built-in one.
  const named = [...(file.variants ?? (file.variant !== undefined ? [file.variant] : [])), ...(file.expect ?? []).flatMap((e) => (e.variant !== undefined ? [e.variant] : []))];
  if (named.length || driversNamed(file).length) spec.variants = [...new Set(named)];
  return spec;
}
