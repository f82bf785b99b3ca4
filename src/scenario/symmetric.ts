/**
 * A scenario's `symmetric:` groups — actors declared interchangeable, which `--symmetry` permutes
 * (src/engine/actor-symmetry.ts) — and the static half of "checked to be one": the actors of a
 * group must be alike in everything the loader gives an actor. The same operations with the same
 * arguments (so the same mm, pages, VM and vCPU binding, device, and role), or the same `any`
 * adversary; no fork (it starts the child's actors by number); no vCPU under the kvm-tlb layer
 * (KVM's remote flush asks the vCPUs in index order); and no expectation or outcome naming one of
 * them (it would tell them apart). The dynamic half — the model treats an actor's
 * number as a name only — is the engine's and the tests' (actor-symmetry.ts).
 */
import type { Issue } from './load.js';
import type { Op } from './operations.js';
import { operationNamed } from './operations.js';
import type { ActorSpec, Observation, OutcomeSpec, ScenarioSpec } from './spec.js';

interface ActorData {
  readonly name: string;
  readonly ops?: readonly Op[];
  readonly any?: ActorSpec['any'];
}

/** What a file gives the check: its actors, groups, and what names actors besides. */
export interface SymmetricFile {
  readonly actors: readonly ActorData[];
  readonly layers?: readonly string[];
  readonly symmetric?: readonly (readonly string[])[];
  readonly expect?: readonly { readonly pattern?: readonly string[] }[];
  readonly outcome?: readonly Observation[];
  readonly outcomes?: readonly OutcomeSpec[];
}

/** The problems of the file's `symmetric:` groups. */
export function symmetricIssues(file: SymmetricFile): Issue[] {
  const out: Issue[] = [];
  const index = new Map(file.actors.map((a, i) => [a.name, i]));
  const grouped = new Map<string, number>();
  const observed = observedActors(file);
  (file.symmetric ?? []).forEach((group, g) => {
    const at = ['symmetric', g];
    if (group.length < 2) out.push({ path: at, message: `a group of ${group.length} actor${group.length === 1 ? '' : 's'}; expected at least two interchangeable actors` });
    const known: ActorData[] = [];
    group.forEach((name, k) => {
      const i = index.get(name);
      if (i === undefined) {
        out.push({ path: [...at, k], message: `"${name}" is not an actor of this scenario; expected one of ${[...index.keys()].join(', ')}` });
        return;
      }
      const prev = grouped.get(name);
      if (prev !== undefined) {
        out.push({ path: [...at, k], message: `actor ${name} is named twice (also in symmetric[${prev}]); expected each actor in at most one group, once` });
        return;
      }
      grouped.set(name, g);
      const actor = file.actors[i];
      if ((actor.ops ?? []).some((op) => operationNamed(op.op)?.createsChild))
        out.push({ path: [...at, k], message: `actor ${name} forks, which starts the child's actors by number; a forking actor is not interchangeable` });
      // virt/kvm/kvm_main.c:kvm_make_all_cpus_request asks the vCPUs in index order, one per step (src/kvm/tlb.ts): the order tells them apart.
      if (file.layers?.includes('kvm-tlb') && (actor.ops ?? []).some((op) => op.op === 'guest-access'))
        out.push({ path: [...at, k], message: `actor ${name} runs a vCPU, which kvm_flush_remote_tlbs asks in vCPU order under the kvm-tlb layer; vCPUs are interchangeable only without it` });
      const why = observed.get(name);
      if (why) out.push({ path: [...at, k], message: `actor ${name} is named by ${why}, which tells it apart from the others of its group` });
      known.push(actor);
    });
    const first = known[0];
    for (const other of known.slice(1)) {
      const diff = difference(first, other);
      if (diff) out.push({ path: at, message: `actors ${first.name} and ${other.name} are not interchangeable: ${diff}; expected the same operations with the same arguments` });
    }
  });
  return out;
}

/** The actor groups of `spec` by actor number (none when it declares none). */
export function actorGroups(spec: ScenarioSpec): number[][] {
  return (spec.symmetric ?? []).map((g) => g.map((name) => spec.actors.findIndex((a) => a.name === name)));
}

/** Why `a` and `b` run different programs, or undefined when they run the same. */
function difference(a: ActorData, b: ActorData): string | undefined {
  if ((a.any === undefined) !== (b.any === undefined)) return `${a.any ? a.name : b.name} is an "any" adversary and the other is not`;
  if (a.any && canonical(a.any) !== canonical(b.any)) return `their "any" adversaries differ (${canonical(a.any)} and ${canonical(b.any)})`;
  const x = a.ops ?? [];
  const y = b.ops ?? [];
  for (let k = 0; k < Math.max(x.length, y.length); k++) {
    if (k >= x.length || k >= y.length) return `${a.name} has ${x.length} operation${x.length === 1 ? '' : 's'} and ${b.name} ${y.length}`;
    if (canonical(x[k]) !== canonical(y[k])) return `operation ${k} is ${canonical(x[k])} in ${a.name} and ${canonical(y[k])} in ${b.name}`;
  }
  return undefined;
}

/** JSON with the keys sorted: two operations written in another key order are one. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x !== null && typeof x === 'object')
    return `{${Object.keys(x)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(x);
}

/** The actors that expectations and outcomes name, with where. */
function observedActors(file: SymmetricFile): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, e] of (file.expect ?? []).entries()) {
    for (const text of e.pattern ?? []) {
      const parts = text.split(':');
      // A step pattern names an actor as its first of three parts, or of two when that is not a routine: either way a name.
      if (parts.length >= 2 && !out.has(parts[0])) out.set(parts[0], `expect[${i}]'s pattern ${JSON.stringify(text)}`);
    }
  }
  const observations = [...(file.outcome ?? []), ...(file.outcomes ?? []).flatMap((o) => o.observe)];
  for (const o of observations) for (const p of [o.after, o.result]) if (p && !out.has(p.actor)) out.set(p.actor, `an outcome's observation (${p === o.after ? 'after' : 'result'})`);
  return out;
}
