/**
 * vitest's global setup: the child-process tests run the built command (dist/), so rebuild it
 * when any file under src/ is newer than dist/cli/bin.js (a clean clone has it from `npm ci`'s
 * prepare script, and then nothing is rebuilt).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const built = statSync(join(root, 'dist/cli/bin.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built >= newest(join(root, 'src'))) return;
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { cwd: root, stdio: 'ignore' });
}
