/**
 * The parts of schema.json that are made from code: the operations (`$defs.op`, one alternative
 * per entry of the operation table), the `any` adversary (`$defs.anyOps`), the field kinds (`$defs.mm`, `$defs.page`, …), the bounds
 * (`pages`, actors, operations per actor), the mirror variants and the verdicts an expectation names. The rest of the file
 * (descriptions of the top-level fields, the actor object, …) is written by hand and kept.
 *
 * `npx tsx scripts/scenario-schema.ts` rewrites the file; test/scenario/operations.test.ts fails
 * while the shipped file differs from what this makes of it.
 */
import { VARIANTS } from '../mirror/variants.js';
import { verdictNames } from './expect.js';
import { MAX_ACTORS, MAX_ANY_OPS, MAX_OPS, MAX_PAGES } from './bounds.js';
import { KERNEL_LAYERS, MEMORY_KINDS } from './spec.js';
import { ANY_OP_NAMES, FIELD_KINDS, OPERATIONS, type FieldDefs, type FieldKind } from './operations.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The schema of one operation: `op` and its fields (each a `$ref` to its kind), optional ones not required. */
function alternative(name: string, description: string, fields: FieldDefs): JsonObject {
  const entries = Object.entries(fields);
  return {
    description,
    type: 'object',
    required: ['op', ...entries.filter(([, d]) => !d.optional).map(([f]) => f)],
    additionalProperties: false,
    properties: Object.fromEntries([['op', { const: name }], ...entries.map(([f, d]) => [f, { $ref: `#/$defs/${d.kind}` }])]),
  };
}

/** `$defs.op`: an object whose `op` picks one alternative per entry of the operation table. */
export function opSchema(): JsonObject {
  return {
    type: 'object',
    required: ['op'],
    discriminator: { propertyName: 'op' },
    oneOf: OPERATIONS.map((o) => alternative(o.name, o.description, o.fields)),
  };
}

/** `$defs.anyOps`: an actor's `any:` — its bounds and the operations it may choose from. */
export function anySchema(): JsonObject {
  return {
    description:
      "Any sequence of at most `ops` core-mm operations over the scenario's pages 0..`pages`-1, on the source or the introspector: the search explores every choice (stopping early included). An mm exits at most once and nothing acts on it after; an OOM reap happens once per mm.",
    type: 'object',
    required: ['ops', 'pages'],
    additionalProperties: false,
    properties: {
      ops: { description: 'The most operations it runs.', type: 'integer', minimum: 1, maximum: MAX_ANY_OPS },
      pages: { description: "The pages it acts on: 0..pages-1 (at most the scenario's `pages`).", type: 'integer', minimum: 1, maximum: MAX_PAGES },
      of: { description: 'The operations it chooses from (default: all of them).', type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...ANY_OP_NAMES] } },
    },
  };
}

/** `$defs.<kind>` for every field kind. */
export function kindSchemas(): Record<FieldKind, JsonObject> {
  return Object.fromEntries(Object.entries(FIELD_KINDS).map(([k, def]) => [k, JSON.parse(JSON.stringify(def.schema)) as JsonObject])) as Record<FieldKind, JsonObject>;
}

function object(v: Json | undefined, where: string): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`schema.json: ${where} is not an object`);
  return v;
}

/**
 * `base` (the schema as shipped) with its generated parts made again from the code. Keys keep
 * their places; the field kinds stand together where the first of them stood (before `op` if none
 * did).
 */
export function generateSchema(base: Json): JsonObject {
  const schema = structuredClone(object(base, 'the schema'));
  const props = object(schema.properties, 'properties');
  Object.assign(object(props.pages, 'properties.pages'), { minimum: 1, maximum: MAX_PAGES });
  object(props.actors, 'properties.actors').maxItems = MAX_ACTORS;
  object(object(props.layers, 'properties.layers').items, 'properties.layers.items').enum = [...KERNEL_LAYERS];
  object(props.memory, 'properties.memory').enum = [...MEMORY_KINDS];
  const defs = object(schema.$defs, '$defs');
  object(object(object(defs.actor, '$defs.actor').properties, '$defs.actor.properties').ops, '$defs.actor.properties.ops').maxItems = MAX_OPS;
  object(defs.variantName, '$defs.variantName').enum = VARIANTS.map((v) => v.name);
  object(defs.verdict, '$defs.verdict').enum = verdictNames();

  const kinds = kindSchemas();
  const isKind = (k: string) => Object.hasOwn(kinds, k);
  const out: JsonObject = {};
  let kindsPlaced = false;
  const placeKinds = () => {
    if (!kindsPlaced) for (const [k, s] of Object.entries(kinds)) out[k] = s;
    kindsPlaced = true;
  };
  for (const [k, v] of Object.entries(defs)) {
    if (isKind(k)) placeKinds();
    else if (k === 'anyOps') out.anyOps = anySchema();
    else if (k === 'op') {
      placeKinds();
      out.anyOps ??= anySchema();
      out.op = opSchema();
    } else out[k] = v;
  }
  placeKinds();
  out.anyOps ??= anySchema();
  out.op ??= opSchema();
  schema.$defs = out;
  return schema;
}

/**
 * schema.json's layout: two-space indentation; lists of plain values and objects of one plain
 * value on one line (`["op", "page"]`, `{ "$ref": "#/$defs/page" }`), everything else one key a line.
 */
export function formatSchema(value: Json): string {
  const plain = (v: Json) => v === null || typeof v !== 'object';
  const write = (v: Json, indent: string): string => {
    if (plain(v)) return JSON.stringify(v);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      if (v.every(plain)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
      return `[\n${v.map((x) => inner + write(x, inner)).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    if (entries.length === 1 && plain(entries[0][1])) return `{ ${JSON.stringify(entries[0][0])}: ${JSON.stringify(entries[0][1])} }`;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${write(x, inner)}`).join(',\n')}\n${indent}}`;
  };
  return `${write(value, '')}\n`;
}
