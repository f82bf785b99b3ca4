// Copies the non-TypeScript assets of src/ (JSON files, e.g. src/scenario/schema.json) to dist/,
// keeping their paths, after `tsc -p tsconfig.build.json`.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

function* assets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* assets(path);
    else if (entry.name.endsWith('.json')) yield path;
  }
}

for (const file of assets(src)) {
  const to = join(dist, relative(src, file));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
  console.log(`copied ${relative(root, file)} -> ${relative(root, to)}`);
}
