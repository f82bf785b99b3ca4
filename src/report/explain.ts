/**
 * `vmamirror explain VARIANT`: a variant's routines as readable pseudo-C — each routine with its
 * parameters and locals, each step with the kernel code it models and the step's own body
 * (the model source, which calls the kernel API by the kernel's names).
 */
import type { MirrorVariant } from '../mirror/device.js';
import type { AnyRoutine } from '../world/routine.js';

function body(r: AnyRoutine, label: string): string[] {
  const src = r.steps[r.labelIndex[label]].run.toString();
  // `(w, l) => expr` or `(w, l) => { ... }`: keep what follows the arrow.
  const arrow = src.indexOf('=>');
  let text = (arrow >= 0 ? src.slice(arrow + 2) : src).trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1);
  const lines = text.split('\n').map((x) => x.replace(/\s+$/, '')).filter((x) => x.trim() !== '');
  const indent = Math.min(...lines.map((x) => x.length - x.trimStart().length));
  return lines.map((x) => x.slice(Number.isFinite(indent) ? indent : 0));
}

export function explainRoutine(r: AnyRoutine): string {
  const out = [`${r.name}(${r.params.join(', ')})`, '{'];
  const locals = r.localNames.slice(r.params.length);
  if (locals.length) out.push(`    long ${locals.join(', ')};`, '');
  for (const label of r.labels) {
    out.push(`${label}:    /* ${r.steps[r.labelIndex[label]].at} */`);
    for (const line of body(r, label)) out.push(`    ${line}`);
  }
  out.push('}');
  return out.join('\n');
}

export function explainVariant(v: MirrorVariant): string {
  const head = [
    `/* variant ${v.name}: ${v.summary}`,
    v.reproduces.length ? ` * reproduces ${v.reproduces.join(', ')} (reference §7.2)` : ' * the corrected design',
    ' * Each label is an atomic step: another CPU may run between any two.',
    ' * `return "label"` goes to a label, `w.call(f, "resume", ...)` calls f, `w.ret(x)` returns,',
    ' * BLOCK_SLEEP / BLOCK_SPIN: not runnable until the state changes. */',
  ];
  return [...head, '', ...v.routines.map(explainRoutine).join('\n\n').split('\n')].join('\n');
}
