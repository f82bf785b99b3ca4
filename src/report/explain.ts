/**
 * `vmamirror explain`: routines as C-like text built from their declared structure — the labels in
 * order, what each step models (its citation), the struct fields it reads and writes with what
 * protects each field, the routines it calls, whether it may block or start an actor — never the
 * JavaScript of the step closures. A reader who knows the C can put the two side by side.
 */
import type { MirrorVariant } from '../mirror/device.js';
import type { AnyRoutine } from '../world/routine.js';
import { formatCitation } from '../world/citation.js';
import { structByName } from '../world/layout.js';
import type { Footprint } from '../world/footprint.js';

/** `field [protection]` for each declared field (`struct.*` expands to the struct's name with `*`). */
function withProtection(fields: readonly string[]): string {
  return fields
    .map((f) => {
      const [s, field] = f.split('.');
      const def = structByName(s);
      if (!def || field === '*') return f;
      const p = (def.protect as Record<string, string | undefined>)[field];
      return p ? `${f} [${p}]` : f;
    })
    .join(', ');
}

function stepLines(fp: Footprint | undefined): string[] {
  if (!fp) return ['\t/* no declared footprint */'];
  const out: string[] = [];
  if (fp.reads?.length) out.push(`\t/* reads:  ${withProtection(fp.reads)} */`);
  if (fp.writes?.length) out.push(`\t/* writes: ${withProtection(fp.writes)} */`);
  for (const c of fp.calls ?? []) out.push(c === 'ops' ? '\t(*ops)(...);\t/* through an ops pointer in the state */' : `\t${c}(...);`);
  if (fp.blocks) out.push('\t/* may block here: not runnable until another actor changes the state */');
  if (fp.spawns) out.push('\t/* starts another actor */');
  if (!out.length) out.push('\t/* touches only its own locals */');
  return out;
}

export function explainRoutine(r: AnyRoutine): string {
  const out = [`/* ${r.library.name} */`, `long ${r.name}(${r.params.map((p) => `long ${p}`).join(', ') || 'void'})`, '{'];
  const locals = r.localNames.slice(r.params.length);
  if (locals.length) out.push(`\tlong ${locals.join(', ')};`, '');
  const table = r.library.footprints;
  r.labels.forEach((label, i) => {
    out.push(`${label}:\t/* ${formatCitation(r.citations[i])} */`);
    const step = r.steps[i];
    if (step.within?.length) out.push(`\t/* runs inside ${step.within.join(', ')} (a kernel-internal lock the model keeps out of the state) */`);
    if (step.lockless?.length) out.push(`\t/* reads without their lock (READ_ONCE, re-checked later): ${step.lockless.join(', ')} */`);
    out.push(...stepLines(table?.[`${r.name}:${label}`]));
  });
  out.push('}');
  return out.join('\n');
}

export function explainVariant(v: MirrorVariant): string {
  const head = [
    `/* variant ${v.name}: ${v.summary}`,
    v.reproduces.length ? ` * reproduces ${v.reproduces.join(', ')} (reference §7.2)` : ' * the corrected design',
    ' * Each label is an atomic step: another CPU may run between any two. Under each label: what',
    ' * the step models, the fields it reads and writes [and what protects each], what it calls. */',
  ];
  return [...head, '', ...v.routines.map(explainRoutine).join('\n\n').split('\n')].join('\n');
}
