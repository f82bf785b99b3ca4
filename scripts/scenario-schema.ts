// Rewrites the generated parts of src/scenario/schema.json (the operations, their field kinds, the
// bounds and the mirror variants) from the code (src/scenario/schema-gen.ts), keeping the rest:
//
//   npx tsx scripts/scenario-schema.ts
//
// Run it after changing the operation table (src/scenario/operations.ts) or the bounds
// (src/scenario/bounds.ts); test/scenario/operations.test.ts fails until the file matches.
import { readFileSync, writeFileSync } from 'node:fs';
import { formatSchema, generateSchema } from '../src/scenario/schema-gen.js';

const file = new URL('../src/scenario/schema.json', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = formatSchema(generateSchema(JSON.parse(before)));
if (after === before) console.log('src/scenario/schema.json is up to date');
else {
  writeFileSync(file, after);
  console.log('src/scenario/schema.json rewritten');
}
