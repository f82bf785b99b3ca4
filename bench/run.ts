/**
 * `npm run bench` — our explorer against SPIN on the reference scenario `introspect-nested`, side by
 * side, for the corrected mirror design and each broken variant the Promela peer models
 * (bench/peers/introspect-nested.pml, selected with -DVARIANT=n).
 *
 *   npm run bench -- [--max-states N] [--variants interval,raw-clear,...] [--spin-timeout S]
 *                    [--spin-memlim MB] [--spin-hash W] [--no-ours] [--no-spin] [--workers N]
 *
 * Ours: explore() with the standard properties and `maxStates` (default 20,000,000; our verdict is
 * "incomplete" when the limit is hit). SPIN: spin -a, gcc -O2 -DSAFETY -DNOBOUNDCHECK -DHC4
 * (64-bit hash compaction, like our fingerprints) -DVECTORSZ=2048 -DMEMLIM, ./pan -m100000 -wW.
 * If `spin` is missing it is installed with `apt-get install -y spin`; nothing else is fetched.
 *
 * --workers N (N >= 2): also the speed-up of the search on N worker threads (src/engine/parallel.ts)
 * over one thread, as `check` runs it (audited), the two back to back per variant, with the check
 * that both found the same states and transitions. The workers run the compiled model: `npm run
 * build` first.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildScenario } from '../src/scenario/build.js';
import { scenarioByName } from '../src/scenario/catalogue.js';
import { variantByName } from '../src/mirror/variants.js';
import { explore, type ExploreResult } from '../src/engine/exhaustive.js';
import { PROPERTIES } from '../src/check/properties.js';
import { catalogueCells, checkOne } from '../src/check/run.js';
import { cellSource, parallelCell } from '../src/cli/parallel-cell.js';

const SCENARIO = 'introspect-nested';
/** Variants the Promela model covers, with their -DVARIANT number. */
const MODELLED: Readonly<Record<string, number>> = { interval: 1, 'raw-clear': 2, 'anon-vma': 3, 'start-only': 4 };
const here = dirname(fileURLToPath(import.meta.url));
const PML = join(here, 'peers', 'introspect-nested.pml');

interface Options {
  maxStates: number;
  variants: string[];
  spinTimeout: number;
  spinMemlim: number;
  spinHash: number;
  ours: boolean;
  spin: boolean;
  workers: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    maxStates: 20_000_000,
    variants: Object.keys(MODELLED),
    spinTimeout: 1800,
    spinMemlim: 16000,
    spinHash: 28,
    ours: true,
    spin: true,
    workers: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--max-states') o.maxStates = Number(val());
    else if (a === '--variants') o.variants = val().split(',');
    else if (a === '--spin-timeout') o.spinTimeout = Number(val());
    else if (a === '--spin-memlim') o.spinMemlim = Number(val());
    else if (a === '--spin-hash') o.spinHash = Number(val());
    else if (a === '--no-ours') o.ours = false;
    else if (a === '--no-spin') o.spin = false;
    else if (a === '--workers') o.workers = Number(val());
    else throw new Error(`unknown option ${a}`);
  }
  for (const v of o.variants) if (!(v in MODELLED)) throw new Error(`variant ${v} is not in the Promela model (have ${Object.keys(MODELLED).join(', ')})`);
  if (!(o.maxStates > 0)) throw new Error('--max-states must be positive');
  if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new Error('--workers must be a positive integer');
  return o;
}

function run(cmd: string, args: string[], cwd: string, timeoutS?: number) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutS ? timeoutS * 1000 : undefined });
  return { status: r.status, signal: r.signal, out: (r.stdout ?? '') + (r.stderr ?? ''), error: r.error };
}

function ensureSpin(): void {
  if (run('sh', ['-c', 'command -v spin'], '.').status === 0) return;
  console.log('spin not found: apt-get install -y spin');
  const r = run('apt-get', ['install', '-y', 'spin'], '.');
  if (r.status !== 0) throw new Error(`apt-get install -y spin failed:\n${r.out}`);
}

interface OursResult {
  verdict: string;
  states: number;
  transitions: number;
  seconds: number;
  statesPerSec: number;
  bytesPerState: number;
  detail: string;
}

function runOurs(variant: string, maxStates: number): OursResult {
  const spec = scenarioByName(SCENARIO)!;
  const b = buildScenario(spec, variantByName(variant)!);
  const r: ExploreResult = explore(b.world, { properties: PROPERTIES, maxStates });
  const seconds = r.elapsedMs / 1000;
  return {
    verdict: r.verdict === 'violation' ? `violation(${r.violation!.property})` : r.verdict,
    states: r.states,
    transitions: r.transitions,
    seconds,
    statesPerSec: r.states / seconds,
    bytesPerState: r.bytesPerState,
    detail: r.violation ? `${r.violation.message} [${r.violation.schedule.length} steps]` : `depth ${r.depth}`,
  };
}

/** Wall time of `check` on one thread, then on `workers` threads, back to back; whether both counted the same. */
function runSpeedup(variant: string, maxStates: number, workers: number): { one: number; many: number; same: boolean; states: number } {
  const c = catalogueCells([scenarioByName(SCENARIO)!], [variantByName(variant)!])[0];
  const one = checkOne(c.scenario, c.variant, { maxStates, shrink: false });
  const many = checkOne(c.scenario, c.variant, { maxStates, shrink: false, parallel: parallelCell(workers, cellSource(c, new Map())) });
  const same = one.verdict === many.verdict && one.states === many.states && one.transitions === many.transitions;
  return { one: one.elapsedMs / 1000, many: many.elapsedMs / 1000, same, states: one.states };
}

interface SpinResult {
  verdict: string;
  states: number;
  transitions: number;
  seconds: number;
  statesPerSec: number;
  vector: number;
  compileSeconds: number;
  detail: string;
}

/** Which of our properties a failed Promela assertion stands for (by the expression SPIN prints). */
function propertyOf(assertion: string): string {
  if (assertion.includes('sp[0]==0')) return 'deadlock';
  if (assertion.includes('pte[1].pfn==spte[1].pfn') || assertion.includes('pte[0].pfn==pte[1].pfn')) return 'refinement';
  if (assertion.includes('.gen==')) return 'no-dangling-pfn';
  if (assertion.includes('.mapc==')) return 'frame-accounting';
  if (assertion.includes('nactive==0')) return 'notifier-balance';
  return 'kernel-bug';
}

function runSpin(variant: string, o: Options): SpinResult {
  const dir = join(tmpdir(), 'vmamirror-bench', variant);
  mkdirSync(dir, { recursive: true });
  copyFileSync(PML, join(dir, 'model.pml'));
  const t0 = performance.now();
  const a = run('spin', [`-DVARIANT=${MODELLED[variant]}`, '-a', 'model.pml'], dir);
  if (a.status !== 0 || !existsSync(join(dir, 'pan.c'))) throw new Error(`spin -a failed for ${variant}:\n${a.out}`);
  const cc = run('gcc', ['-O2', '-DSAFETY', '-DNOBOUNDCHECK', '-DHC4', '-DVECTORSZ=2048', `-DMEMLIM=${o.spinMemlim}`, '-o', 'pan', 'pan.c'], dir);
  if (cc.status !== 0) throw new Error(`gcc failed for ${variant}:\n${cc.out}`);
  const compileSeconds = (performance.now() - t0) / 1000;
  const p = run('./pan', ['-m100000', `-w${o.spinHash}`], dir, o.spinTimeout);
  const out = p.out;
  const num = (re: RegExp) => {
    const m = out.match(re);
    return m ? Number(m[1]) : NaN;
  };
  const states = num(/([\d.e+]+) states, stored/);
  const transitions = num(/([\d.e+]+) transitions \(= stored\+matched\)/);
  const seconds = num(/pan: elapsed time ([\d.e+]+) seconds/);
  const vector = num(/State-vector (\d+) byte/);
  const errors = num(/errors: (\d+)/);
  const failed = out.match(/assertion violated (.*) \(at depth (\d+)\)/);
  let verdict: string;
  let detail = '';
  if (p.signal || p.error) {
    verdict = 'incomplete';
    detail = `stopped after ${o.spinTimeout} s (${p.signal ?? p.error?.message})`;
  } else if (errors > 0) {
    verdict = failed ? `violation(${propertyOf(failed[1])})` : 'violation';
    detail = failed ? `assertion at depth ${failed[2]}` : (out.match(/pan:1: (.*)/)?.[1] ?? '');
  } else if (/max search depth too small/.test(out) || /out of memory/i.test(out)) {
    verdict = 'incomplete';
    detail = /out of memory/i.test(out) ? 'out of memory' : 'depth limit reached';
  } else {
    verdict = errors === 0 ? 'holds' : 'unknown';
  }
  if (verdict === 'incomplete' && p.signal) {
    // pan prints nothing when killed: report what its progress lines said last.
    const lines = [...out.matchAll(/Depth=\s*\d+ States=\s*([\d.e+]+) Transitions=\s*([\d.e+]+).* t=\s*([\d.]+)/g)];
    const last = lines.at(-1);
    return {
      verdict,
      states: last ? Number(last[1]) : NaN,
      transitions: last ? Number(last[2]) : NaN,
      seconds: last ? Number(last[3]) : o.spinTimeout,
      statesPerSec: last ? Number(last[1]) / Number(last[3]) : NaN,
      vector,
      compileSeconds,
      detail,
    };
  }
  return { verdict, states, transitions, seconds, statesPerSec: states / Math.max(seconds, 1e-3), vector, compileSeconds, detail };
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmtS = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}s` : '-');

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  console.log(`vmamirror bench: scenario ${SCENARIO}; ours maxStates ${fmt(o.maxStates)}; SPIN timeout ${o.spinTimeout}s, -w${o.spinHash}, MEMLIM ${o.spinMemlim} MB`);
  console.log(`node ${process.version}`);
  if (o.spin) {
    ensureSpin();
    console.log(run('spin', ['-V'], '.').out.trim());
  }
  const rows: string[] = [];
  for (const v of o.variants) {
    const ours = o.ours ? runOurs(v, o.maxStates) : undefined;
    if (ours) {
      console.log(
        `  ours  ${v}: ${ours.verdict}, ${fmt(ours.states)} states, ${fmt(ours.transitions)} transitions, ${fmtS(ours.seconds)}, ` +
          `${fmt(ours.statesPerSec)} states/s, ${ours.bytesPerState.toFixed(1)} B/state; ${ours.detail}`,
      );
    }
    if (o.workers > 1) {
      const s = runSpeedup(v, o.maxStates, o.workers);
      console.log(
        `  threads ${v}: 1 thread ${fmtS(s.one)}, ${o.workers} workers ${fmtS(s.many)}: speed-up ${(s.one / s.many).toFixed(2)}x over ${fmt(s.states)} states; same counts: ${s.same ? 'yes' : 'NO'}`,
      );
    }
    const spin = o.spin ? runSpin(v, o) : undefined;
    if (spin) {
      console.log(
        `  spin  ${v}: ${spin.verdict}, ${fmt(spin.states)} states stored, ${fmt(spin.transitions)} transitions, ${fmtS(spin.seconds)} ` +
          `(+${spin.compileSeconds.toFixed(1)}s spin -a/gcc), ${fmt(spin.statesPerSec)} states/s, vector ${spin.vector} B; ${spin.detail}`,
      );
    }
    const ratio = ours && spin && Number.isFinite(spin.seconds) ? (ours.seconds / Math.max(spin.seconds, 0.01)).toFixed(2) : '-';
    rows.push(
      `${v.padEnd(11)} ours ${fmt(ours?.states ?? NaN).padStart(11)} st ${fmtS(ours?.seconds ?? NaN).padStart(9)} | ` +
        `spin ${fmt(spin?.states ?? NaN).padStart(11)} st ${fmtS(spin?.seconds ?? NaN).padStart(9)} | ` +
        `time ours/spin ${ratio.padStart(6)} | verdict ours ${ours?.verdict ?? '-'} / spin ${spin?.verdict ?? '-'}`,
    );
  }
  console.log('\nvariant     ours: states, time        | SPIN: states, time         | ratio             | verdicts');
  for (const r of rows) console.log(r);
}

main();
