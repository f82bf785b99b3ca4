/**
 * The Chromium the browser tests drive. Debian's, when the machine has it; otherwise the headless
 * Chromium that the `@sparticuz/chromium` dev dependency ships inside its npm tarball (brotli-
 * compressed, no install script, nothing downloaded), so `npm ci && npm test` needs no browser
 * installed by hand. Neither available, or the package's binary unusable, is an error: the caller
 * fails, it does not skip.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Browser {
  executablePath: string;
  args: string[];
  /** Where the binary came from, for messages. */
  source: string;
}

const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Flags that keep any Chromium quiet: no first-run UI, no calls home. */
const QUIET = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The package's flags minus those that would make the page run less strictly than in a user's browser. */
const LOOSENING = new Set(['--disable-web-security', '--allow-running-insecure-content']);

/** An installed package's version: its entry point's nearest package.json that bears its name. */
function packageVersion(name: string): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === name && pkg.version) return pkg.version;
  }
  throw new Error(`cannot find the version of ${name}`);
}

/**
 * The package extracts itself into os.tmpdir() and then reuses whatever `chromium` it finds there,
 * whichever version or half-written. So it is extracted once per package version into a fresh
 * directory under node_modules/.cache (which `npm ci` wipes with the rest), and moved into place
 * only when complete.
 */
async function packagedChromium(): Promise<Browser> {
  const version = packageVersion('@sparticuz/chromium');
  const { default: chromium } = await import('@sparticuz/chromium');
  const cache = fileURLToPath(new URL('../../node_modules/.cache/vmamirror-chromium/', import.meta.url));
  const home = join(cache, version);
  if (!existsSync(join(home, 'chromium'))) {
    mkdirSync(cache, { recursive: true });
    const staging = mkdtempSync(join(cache, `.${version}-`));
    const tmpdir = process.env.TMPDIR;
    process.env.TMPDIR = staging; // os.tmpdir() is where the package inflates to
    try {
      await chromium.executablePath();
    } finally {
      if (tmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdir;
    }
    try {
      renameSync(staging, home);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(join(home, 'chromium'))) throw e; // not just another run that got there first
    }
  }
  return {
    executablePath: join(home, 'chromium'),
    args: [...chromium.args.filter((a) => !LOOSENING.has(a)), ...QUIET],
    source: `@sparticuz/chromium ${version}`,
  };
}

/** The system Chromium if there is one, else the npm-shipped one. Throws when there is neither. */
export async function findChromium(): Promise<Browser> {
  const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (system) return { executablePath: system, args: ['--no-sandbox', '--disable-gpu', ...QUIET], source: system };
  try {
    return await packagedChromium();
  } catch (e) {
    throw new Error(
      `no Chromium: neither ${SYSTEM_CHROMIUM.join(' nor ')} exists, and the npm-shipped one (@sparticuz/chromium, ` +
        `a dev dependency: run \`npm ci\`) could not be unpacked: ${(e as Error).message}. This test does not skip without it.`,
    );
  }
}
