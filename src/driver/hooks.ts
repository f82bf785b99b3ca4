/**
 * Module resolution hooks (node:module `register`) for driver files: the bare specifier
 * `vmamirror` resolves to the running package's entry, wherever the driver file lives, so a driver
 * and the checker share one copy of the kernel's library (two copies would be two different
 * libraries both called kernel); and a `.ts` file is an ES module even where no package.json
 * says `"type": "module"` (a driver in a folder of its own).
 */
let entry = '';

export function initialize(data: { entry: string }): void {
  entry = data.entry;
}

interface Resolved {
  readonly url: string;
  readonly format?: string | null;
}
type Next = (specifier: string, context: unknown) => Promise<Resolved>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<Resolved & { shortCircuit?: boolean }> {
  if (specifier === 'vmamirror' && entry) return { url: entry, format: 'module', shortCircuit: true };
  const r = await next(specifier, context);
  if (r.url.startsWith('file:') && /\.ts$/i.test(new URL(r.url).pathname) && r.format !== 'module') return { ...r, format: 'module' };
  return r;
}
