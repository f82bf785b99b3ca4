/**
 * `npm run bench` — time to verdict on a representative suite, each cell a child process of its own
 * (its wall time, CPU time and peak RSS all-in, read by a probe at its exit), with a time budget per
 * cell so that a run on a small machine ends; a cell that hits it is reported as "incomplete at N
 * states", never dropped. Rungs (bench/lib.ts RUNGS):
 *
 *   catalogue  `vmamirror check` of the built-in catalogue, every design, one process per cell; and
 *              for each broken design the time to catch it
 *   ladder     bench/scenarios/ladder-2 … ladder-6.yaml: 2 to 6 actors on one page
 *   pages      bench/scenarios/pages-1 … pages-3.yaml: the same three actors over 1 to 3 pages
 *   reductions the larger ladder and page rungs, two reclaimers (bench/scenarios/reclaimers-2.yaml) and
 *              three interchangeable readers (examples/three-readers.yaml),
 *              again under each opt-in reduction (REDUCTIONS):
 *              the states and the time each one saves
 *   fidelity   fidelity/*.yaml, the corrected design
 *   mutants    every mutant of the corrected design on the catalogue, the time each took to judge
 *   workers    introspect-nested/interval on one thread, then on --workers N: the speed-up, and
 *              the machine's ceiling for it (N one-thread searches at once against one alone)
 *   spin       the ladder's rungs (--spin-rungs) against SPIN on the same model at the same step
 *              granularity (bench/peers/ladder.pml -DACTORS=N: one d_step per step of ours), back to
 *              back: time and states, ours over SPIN's, with the reductions on (our step merging,
 *              SPIN's partial-order reduction) and off (--no-por, -DNOREDUCE)
 *
 *   npm run bench -- [--budget S] [--only RUNG,...] [--skip-spin] [--memory SIZE] [--workers N]
 *                    [--spin-rungs N,...] [--spin-memlim MB] [--spin-hash W] [--write | --no-write]
 *
 * Ours runs the compiled CLI (`npm run bench` builds it first). SPIN: spin -DACTORS=N -a, gcc -O2 -DSAFETY
 * -DNOBOUNDCHECK -DHC4 (hash compaction, like our 64-bit fingerprints) -DVECTORSZ=2048 -DMEMLIM [-DNOREDUCE],
 * ./pan -m100000 -wW; if `spin` is missing it is installed with `apt-get install -y spin` (nothing else is
 * fetched), and if that fails the rung says so and the bench goes on.
 * A full run writes bench/RESULTS.md and the README's bench table (between its bench markers).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VARIANTS } from '../src/mirror/variants.js';
import { CATALOGUE } from '../src/scenario/catalogue.js';
import {
  type CheckCell,
  fmtInt,
  fmtMiB,
  fmtRatio,
  fmtSeconds,
  markdownTable,
  type Options,
  parseArgs,
  parseCheckJson,
  parseBashCpu,
  parseSpinOutput,
  spinBuild,
  parseUsage,
  perSecond,
  ROW_HEADERS,
  type Row,
  type Rung,
  replaceSection,
  rowCells,
  timeRatio,
  USAGE_PROBE,
  type Usage,
  verdictText,
} from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..');
const BIN = join(ROOT, 'bin', 'vmamirror.js');
const PML = join(here, 'peers', 'ladder.pml');
/** A child that overruns its own --time-limit by this much (start-up, the last state, shrinking) is killed. */
const GRACE_SECONDS = 60;

interface Child {
  stdout: string;
  stderr: string;
  status: number | null;
  killed: boolean;
  wall: number;
  usage?: Usage;
}

let probes = 0;

/** Runs `node ARGS` with the usage probe; its wall time measured here. */
function runNode(args: readonly string[], hardTimeoutS: number): Child {
  const file = join(tmpdir(), `vmamirror-bench-${process.pid}-${probes++}.json`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', USAGE_PROBE, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    timeout: hardTimeoutS * 1000,
    env: { ...process.env, BENCH_USAGE_FILE: file },
  });
  const wall = (performance.now() - t0) / 1000;
  const usage = existsSync(file) ? parseUsage(readFileSync(file, 'utf8')) : undefined;
  rmSync(file, { force: true });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status, killed: r.signal !== null, wall, ...(usage ? { usage } : {}) };
}

function run(cmd: string, args: readonly string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, signal: r.signal, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** A row of figures measured in process `c` (wall, CPU, peak RSS: NaN without one); what `fields` omits is NaN or empty. */
function processRow(name: string, c: Child | undefined, fields: Partial<Row> & Pick<Row, 'verdict'>): Row {
  const none = Number.NaN;
  return {
    name,
    states: none,
    transitions: none,
    seconds: none,
    wall: c?.wall ?? none,
    maxRssBytes: c?.usage?.maxRssBytes ?? none,
    cpuSeconds: c?.usage?.cpuSeconds ?? none,
    detail: '',
    ...fields,
  };
}

/** A row for a cell that printed no verdict (killed, or an error): what happened, in place of the figures. */
function failedRow(name: string, c: Child, budget: number): Row {
  const why = c.killed ? `killed ${GRACE_SECONDS} s past the budget of ${budget} s` : `exit ${c.status}: ${c.stderr.trim().split('\n')[0] ?? ''}`;
  return processRow(name, c, { verdict: 'no verdict', detail: why });
}

function cellRow(name: string, cell: CheckCell, c: Child | undefined): Row {
  return processRow(name, c, { verdict: verdictText(cell), states: cell.states, transitions: cell.transitions, seconds: cell.seconds });
}

/** `vmamirror check ARGS --json` under the budget: its cells, or undefined and the row saying why. */
function check(args: readonly string[], o: Options, name: string): { cells: CheckCell[]; child: Child } | { failed: Row } {
  const c = runNode([BIN, 'check', ...args, '--json', '--no-shrink', '--time-limit', String(o.budget), '--max-memory', o.memory], o.budget + GRACE_SECONDS);
  // 0 holds, 1 violation, 3 incomplete: each prints its cells; anything else is a failure to report.
  if (c.killed || c.status === null || ![0, 1, 3].includes(c.status)) return { failed: failedRow(name, c, o.budget) };
  return { cells: parseCheckJson(c.stdout), child: c };
}

function print(r: Row): void {
  const cells = rowCells(r);
  console.log(`  ${ROW_HEADERS.map((h, i) => (i === 0 ? cells[i] : `${h} ${cells[i]}`)).join(', ')}`);
}

/** A rung's section of RESULTS.md, and the lines it adds to the README's table. */
interface Section {
  title: string;
  text: string;
  summary: string[][];
}

/** One process per file (`check FILE FLAGS`), a row per cell (named by the file and `label` alone when it has one: a file that names its design). */
function filesRung(files: readonly string[], o: Options, flags: readonly string[] = [], label = ''): Row[] {
  return files.flatMap((file) => {
    const name = `${file.replace(/^.*\//, '').replace(/\.ya?ml$/, '')}${label}`;
    const r = check([file, ...flags], o, name);
    const rows = 'failed' in r ? [r.failed] : r.cells.map((c) => cellRow(r.cells.length > 1 ? `${name}/${c.variant}` : name, c, r.child));
    for (const row of rows) print(row);
    return rows;
  });
}

function table(rows: readonly Row[]): string {
  return markdownTable(ROW_HEADERS, rows.map(rowCells));
}

function summaryLine(rung: string, r: Row): string[] {
  return [rung, r.name, r.verdict, fmtInt(r.states), fmtSeconds(r.seconds), fmtInt(perSecond(r.states, r.seconds)), fmtMiB(r.maxRssBytes)];
}

function catalogueRung(o: Options): Section {
  // One process per cell, so that each has the budget and its own peak RSS (the CLI's --time-limit is one deadline for a whole command).
  const measured = CATALOGUE.flatMap((spec) => VARIANTS.map((v) => catalogueCell(spec.name, v.name, o)));
  const rows = measured.map((m) => m.row);
  const cells = measured.flatMap((m) => (m.cell ? [m.cell] : []));
  const sum = (f: (r: Row) => number) => rows.reduce((a, r) => a + f(r), 0);
  const undecided = rows.filter((r) => r.verdict.startsWith('incomplete') || r.verdict === 'no verdict').length;
  const total = processRow(`all ${rows.length} cells`, undefined, {
    verdict: undecided ? `incomplete: ${undecided} cell${undecided === 1 ? '' : 's'} undecided` : 'every cell decided',
    states: sum((r) => r.states),
    transitions: sum((r) => r.transitions),
    seconds: sum((r) => r.seconds),
    wall: sum((r) => r.wall),
    cpuSeconds: sum((r) => r.cpuSeconds),
    maxRssBytes: Math.max(...rows.map((r) => r.maxRssBytes)),
  });
  print(total);
  // Time to catch each broken design: the cells of its row that fail, the quickest first.
  const designs = VARIANTS.map((v) => v.name).filter((v) => v !== 'interval');
  const rowsOf = designs.map((d) => {
    const row = cells.filter((c) => c.variant === d);
    return { d, row, caught: row.filter((c) => c.verdict === 'violation').sort((a, b) => a.seconds - b.seconds) };
  });
  const broken = rowsOf.map(({ d, row, caught }) => {
    const first = caught[0];
    const nested = row.find((c) => c.scenario === 'introspect-nested');
    return [
      d,
      `${caught.length} of ${row.length}`,
      first ? `${first.scenario}: ${verdictText(first)}, ${fmtInt(first.states)} states, ${fmtSeconds(first.seconds)}` : 'never caught',
      nested ? `${verdictText(nested)}, ${fmtInt(nested.states)} states, ${fmtSeconds(nested.seconds)}` : '-',
      fmtSeconds(row.reduce((a, c) => a + c.seconds, 0)),
    ];
  });
  const catches = rowsOf.map(({ d, caught: [first] }) =>
    first
      ? ['broken design', `${d}, quickest catch: ${first.scenario}`, verdictText(first), fmtInt(first.states), fmtSeconds(first.seconds), fmtInt(perSecond(first.states, first.seconds)), '']
      : ['broken design', d, 'never caught', '-', '-', '-', ''],
  );
  for (const b of broken) console.log(`  broken ${b[0]}: caught on ${b[1]}; quickest ${b[2]}`);
  const text = [
    'Every scenario × every design, one process each (`vmamirror check SCENARIO --variant DESIGN --json --no-shrink`). The',
    "total's peak RSS is the largest cell's; its wall and CPU are the sums.",
    '',
    table([total]),
    '',
    '**Time to catch each broken design** (the cells of its row that fail, the quickest first; a cell stops at its first violation):',
    '',
    markdownTable(['design', 'caught on', 'quickest catch', 'on introspect-nested', 'its whole row'], broken),
    '',
    '<details><summary>Every cell</summary>',
    '',
    table(rows),
    '',
    '</details>',
  ].join('\n');
  return { title: 'Catalogue', text, summary: [summaryLine('catalogue', total), ...catches] };
}

/** The ladder rung's rows by scenario name (ladder-N), for the spin rung: each cell is measured once per run. */
const ladderRows = new Map<string, Row>();

function ladderRung(o: Options, rung: 'ladder' | 'pages'): Section {
  const files = readdirSync(join(here, 'scenarios'))
    .filter((f) => f.startsWith(`${rung}-`))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
    .map((f) => join('bench', 'scenarios', f));
  const rows = filesRung(files, o);
  for (const r of rows) ladderRows.set(r.name, r); // the spin rung compares SPIN with these
  const intro =
    rung === 'ladder'
      ? "One page, the corrected design; each rung adds an actor: a read through the mirror, kswapd's reclaim, kcompactd's migration, a source write, MADV_DONTNEED, a second read through the mirror (`bench/scenarios/ladder-N.yaml`)."
      : 'The introspector reads each page through the mirror, kswapd reclaims each page, the source drops them all with one MADV_DONTNEED; the corrected design (`bench/scenarios/pages-N.yaml`).';
  return { title: rung === 'ladder' ? 'Growth ladder: 2 to 6 actors on one page' : 'Pages: 1 to 3', text: `${intro}\n\n${table(rows)}`, summary: rows.map((r) => summaryLine(rung, r)) };
}

/** The opt-in reductions (docs/reduction.md), alone and together, as `check` flags. */
const REDUCTIONS: readonly { readonly name: string; readonly flags: readonly string[] }[] = [
  { name: 'none', flags: [] },
  { name: '--abstract-counters', flags: ['--abstract-counters'] },
  { name: '--symmetry', flags: ['--symmetry'] },
  { name: 'both', flags: ['--abstract-counters', '--symmetry'] },
];

function reductionsRung(o: Options): Section {
  const files = [...['ladder-4', 'ladder-5', 'pages-2', 'pages-3', 'reclaimers-2'].map((f) => join('bench', 'scenarios', `${f}.yaml`)), join('examples', 'three-readers.yaml')];
  const rows = files.flatMap((f) => REDUCTIONS.flatMap(({ name, flags }) => filesRung([f], o, flags, ` ${name}`)));
  const intro =
    'The ladder and page rungs above with the reductions that are off by default (docs/reduction.md), each alone and together: the same verdict in fewer states. Step merging and local assertions are always on. `--symmetry` renumbers swap slots, and permutes the actors a scenario declares interchangeable (`symmetric:`; examples/three-readers.yaml: three identical reads through the mirror beside kswapd); it stops with a model error where the swap slots are not interchangeable (pages-N: a fault still names a slot MADV_DONTNEED freed when reclaim allocates again), shown as such.';
  return { title: 'Reductions', text: `${intro}\n\n${table(rows)}`, summary: rows.filter((r) => !r.name.endsWith(' none')).map((r) => summaryLine('reductions', r)) };
}

function fidelityRung(o: Options): Section {
  const files = readdirSync(join(ROOT, 'fidelity'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join('fidelity', f));
  const rows = filesRung(files, o);
  const total: Row = {
    name: `all ${rows.length} cases`,
    verdict: rows.every((r) => !r.verdict.startsWith('incomplete') && r.verdict !== 'no verdict') ? 'every case decided' : 'some case undecided',
    states: rows.reduce((a, r) => a + r.states, 0),
    transitions: rows.reduce((a, r) => a + r.transitions, 0),
    seconds: rows.reduce((a, r) => a + r.seconds, 0),
    wall: rows.reduce((a, r) => a + r.wall, 0),
    maxRssBytes: Math.max(...rows.map((r) => r.maxRssBytes)),
    cpuSeconds: rows.reduce((a, r) => a + r.cpuSeconds, 0),
    detail: '',
  };
  const text = `Each case of \`fidelity/\` under the design it names (the corrected design, or the dmirror driver of examples/drivers/), one process each (a violation is a case whose outcome the model does not reach yet: fidelity/README.md). The total's peak RSS is the largest process's.\n\n${table([...rows, total])}`;
  return { title: 'Fidelity cases', text, summary: [summaryLine('fidelity', total)] };
}

interface MutantsJson {
  judges: string[];
  baselineSeconds: number;
  totalSeconds: number;
  mutants: { id: string; outcome: string; scenario: string; property: string; steps: number; tried: number; seconds: number }[];
}

function mutantsRung(o: Options): Section {
  // The baseline and each mutant have the budget (bench/mutants.ts): the process at most 20 of them (interval has 16 mutants).
  const c = runNode(['--import', 'tsx', join(here, 'mutants.ts'), String(o.budget)], o.budget * 20 + GRACE_SECONDS);
  if (c.status !== 0) {
    const row = failedRow('mutants', c, o.budget);
    return { title: 'Mutants', text: table([row]), summary: [summaryLine('mutants', row)] };
  }
  const m = JSON.parse(c.stdout) as MutantsJson;
  const rows = m.mutants.map((x) => [
    x.id,
    x.outcome,
    x.outcome === 'caught' ? `${x.property} on ${x.scenario} (${x.steps} steps; ${x.tried} scenario${x.tried === 1 ? '' : 's'} tried)` : '',
    fmtSeconds(x.seconds),
  ]);
  const caught = m.mutants.filter((x) => x.outcome === 'caught').length;
  const total = processRow(`${m.mutants.length} mutants of interval`, c, { verdict: `${caught} caught`, seconds: m.totalSeconds, detail: `baseline ${fmtSeconds(m.baselineSeconds)}` });
  print(total);
  const text = [
    `\`vmamirror mutate\` (the corrected design on the whole catalogue) in one process (\`bench/mutants.ts\`, the library's per-mutant callback for the times). Judged on ${m.judges.join(', ')}, cheapest first; a mutant's time runs until one scenario catches it, its counterexample shrunk as \`mutate\` does. The baseline is the design's own check of every scenario, recording its call sites.`,
    '',
    table([total]),
    '',
    markdownTable(['mutant', 'outcome', 'caught by', 'time to judge'], rows),
  ].join('\n');
  return { title: 'Mutants', text, summary: [summaryLine('mutants', total)] };
}

/** `check SCENARIO --variant VARIANT [--workers N]` as its own process, measured once per run unless `fresh` (the catalogue and workers rungs share cells). */
const cellCache = new Map<string, { row: Row; cell?: CheckCell }>();
function catalogueCell(scenario: string, variant: string, o: Options, workers = 1, fresh = false): { row: Row; cell?: CheckCell } {
  const name = `${scenario}/${variant}${workers > 1 ? `, ${workers} workers` : ''}`;
  const cached = cellCache.get(name);
  if (cached && !fresh) return cached;
  const r = check([scenario, '--variant', variant, ...(workers > 1 ? ['--workers', String(workers)] : [])], o, name);
  const m = 'failed' in r ? { row: r.failed } : { row: cellRow(name, r.cells[0], r.child), cell: r.cells[0] };
  print(m.row);
  cellCache.set(name, m);
  return m;
}

const nested = (variant: string, o: Options, workers = 1, fresh = false): Row => catalogueCell('introspect-nested', variant, o, workers, fresh).row;

/**
 * `--workers` one-thread searches of introspect-nested at once, each its own process: the search
 * time of each. What N cores give N independent searches on this machine (their caches, memory
 * and the host's vCPU scheduling shared) bounds what an N-thread search can reach: N × (time
 * alone) / (time together). Undefined if a process failed or stopped at the budget.
 */
function concurrentOnes(o: Options): number[] | undefined {
  const files = Array.from({ length: o.workers }, (_, k) => join(tmpdir(), `vmamirror-bench-${process.pid}-together-${k}.json`));
  const one = (f: string) => `'${process.execPath}' '${BIN}' check introspect-nested --variant interval --json --no-shrink --time-limit ${o.budget} --max-memory ${o.memory} > '${f}'`;
  const r = spawnSync('sh', ['-c', `${files.map((f) => `${one(f)} &`).join(' ')} wait`], { cwd: ROOT, timeout: (o.budget + GRACE_SECONDS) * 1000 });
  try {
    if (r.status !== 0) return undefined;
    const cells = files.map((f) => parseCheckJson(readFileSync(f, 'utf8'))[0]);
    return cells.every((c) => c.verdict === 'holds') ? cells.map((c) => c.seconds) : undefined;
  } catch {
    return undefined;
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}

function workersRung(o: Options): Section {
  // Measured again, right before the workers: the machine's load changes over a run.
  const one = nested('interval', o, 1, true);
  const together = concurrentOnes(o);
  const many = nested('interval', o, o.workers);
  // A cell stopped by the budget has no time to verdict: then the speed-up is in states per second of search.
  const complete = !one.verdict.startsWith('incomplete') && !many.verdict.startsWith('incomplete');
  const same = one.verdict === many.verdict && one.states === many.states && one.transitions === many.transitions;
  const speedup = fmtRatio(perSecond(many.states, many.seconds), perSecond(one.states, one.seconds));
  const slowest = together && Math.max(...together);
  const ceiling = slowest
    ? `; ${o.workers} one-thread searches at once took ${together!.map(fmtSeconds).join(', ')} against ${fmtSeconds(one.seconds)} alone: a ceiling of ${fmtRatio(o.workers * one.seconds, slowest)}× for ${o.workers} threads on this machine`
    : '';
  const line = complete
    ? `speed-up ${speedup}× (search time), ${fmtRatio(one.wall, many.wall)}× (process wall); same verdict and counts: ${same ? 'yes' : 'NO'}${ceiling}`
    : `speed-up ${speedup}× in states/s (a cell stopped at the budget: no time to verdict, counts not comparable)`;
  console.log(`  workers: ${line}`);
  const summary = [
    'workers',
    `introspect-nested/interval, ${o.workers} workers vs 1`,
    complete ? (same ? 'same verdict and counts' : 'counts DIFFER') : 'incomplete',
    fmtInt(one.states),
    `${speedup}× faster${complete && slowest ? ` (ceiling ${fmtRatio(o.workers * one.seconds, slowest)}×)` : ''}`,
    '',
    `${fmtMiB(one.maxRssBytes)} → ${fmtMiB(many.maxRssBytes)}`,
  ];
  return {
    title: `--workers ${o.workers} vs 1`,
    text: `One thread, then ${o.workers} worker threads sharing one fingerprint table, back to back: ${line}.\n\n${table([one, many])}`,
    summary: [summary],
  };
}

const has = (cmd: string): boolean => run('sh', ['-c', `command -v ${cmd}`], ROOT).status === 0;

/** spin's version line; when spin is missing, apt-get installs it (the Debian registry, nothing else), and if that fails: why. */
function ensureSpin(): { version: string } | { missing: string } {
  if (!has('spin')) {
    console.log('  spin not found: apt-get install -y spin');
    const r = run('apt-get', ['install', '-y', 'spin'], ROOT);
    if (!has('spin')) return { missing: `SPIN not installed, and \`apt-get install -y spin\` failed (exit ${r.status}): ${r.out.trim().split('\n').at(-1) ?? ''}` };
  }
  if (!has('gcc')) return { missing: 'SPIN is installed but gcc is not: pan cannot be compiled' };
  return { version: run('spin', ['-V'], ROOT).out.trim() };
}

/** SPIN on ladder-N (spin -a, gcc, ./pan under the budget), its partial-order reduction on or off. */
function spinRow(n: number, reduce: boolean, o: Options): { row: Row; compileSeconds: number } {
  const name = `SPIN ladder-${n}${reduce ? '' : ' -DNOREDUCE'}`;
  const dir = join(tmpdir(), 'vmamirror-bench', `ladder-${n}${reduce ? '' : '-noreduce'}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(PML, join(dir, 'model.pml'));
  const b = spinBuild(n, reduce, o.spinMemlim);
  const t0 = performance.now();
  const a = run('spin', b.spin, dir);
  if (a.status !== 0 || !existsSync(join(dir, 'pan.c'))) throw new Error(`spin ${b.spin.join(' ')} failed:\n${a.out}`);
  const cc = run('gcc', b.gcc, dir);
  if (cc.status !== 0) throw new Error(`gcc ${b.gcc.join(' ')} failed:\n${cc.out}`);
  const compileSeconds = (performance.now() - t0) / 1000;
  // pan's own elapsed time is the search time; its memory is its own account (a C process: no Node probe).
  const t1 = performance.now();
  // coreutils' timeout sends SIGINT at the budget, on which pan prints its summary and exits (124
  // then); spawnSync's own timeout would close the pipes first and lose it. bash's `time` gives
  // pan's CPU time, the steadier figure on a shared machine (as the Node cells' probe does).
  const pan = `timeout -s INT ${o.budget} ./pan -m100000 -w${o.spinHash}`;
  const p = run('bash', ['-c', `TIMEFORMAT='BENCH_CPU %U %S'; time ${pan}`], dir);
  const wall = (performance.now() - t1) / 1000;
  const s = parseSpinOutput(p.out, p.status === 124, o.budget);
  const verdict = s.verdict === 'incomplete' ? `incomplete at ${fmtInt(s.states)} states` : s.verdict;
  const row: Row = { name, verdict, states: s.states, transitions: s.transitions, seconds: s.seconds, wall, maxRssBytes: s.memoryBytes, cpuSeconds: parseBashCpu(p.out), detail: s.detail };
  print(row);
  return { row, compileSeconds };
}

/** Ours on ladder-N: the ladder rung's cell when it ran (reductions on), else measured here. */
function oursRow(n: number, reduce: boolean, o: Options): Row {
  const scenario = `ladder-${n}`;
  const name = reduce ? scenario : `${scenario} --no-por`;
  const cached = reduce ? ladderRows.get(scenario) : undefined;
  if (cached) return cached;
  const r = check([join('bench', 'scenarios', `${scenario}.yaml`), ...(reduce ? [] : ['--no-por'])], o, name);
  const row = 'failed' in r ? r.failed : cellRow(name, r.cells[0], r.child);
  print(row);
  return row;
}

function spinRung(o: Options): Section {
  const title = 'SPIN on the same Promela model, at the same step granularity';
  const spin = ensureSpin();
  if ('missing' in spin) {
    console.log(`  ${spin.missing}`);
    return { title, text: `${spin.missing}: no SPIN figures in this run.`, summary: [['spin', 'SPIN not installed', spin.missing, '-', '-', '-', '']] };
  }
  console.log(`  ${spin.version}`);
  const rows: Row[] = [];
  const tables: Record<'on' | 'off', string[][]> = { on: [], off: [] };
  const summary: string[][] = [];
  for (const n of o.spinRungs) {
    const [verdicts, states, ratios, throughput]: string[][] = [[], [], [], []];
    for (const reduce of [true, false]) {
      const ours = oursRow(n, reduce, o);
      const { row: theirs, compileSeconds } = spinRow(n, reduce, o);
      rows.push(ours, theirs);
      const ratio = timeRatio(ours, theirs);
      const perCpu = fmtRatio(perSecond(ours.states, ours.cpuSeconds), perSecond(theirs.states, theirs.cpuSeconds));
      verdicts.push(`${ours.verdict} / ${theirs.verdict}`);
      states.push(`${fmtInt(ours.states)} / ${fmtInt(theirs.states)}`);
      ratios.push(ratio);
      throughput.push(perCpu);
      tables[reduce ? 'on' : 'off'].push([
        `ladder-${n}`,
        ours.verdict,
        theirs.verdict,
        fmtInt(ours.states),
        fmtInt(theirs.states),
        fmtRatio(ours.states, theirs.states),
        fmtSeconds(ours.seconds),
        `${fmtSeconds(theirs.seconds)} (+${fmtSeconds(compileSeconds)} spin -a, gcc)`,
        ratio,
        perCpu,
      ]);
    }
    console.log(`  spin ladder-${n}: time ours/SPIN ${ratios[0]} (reductions on), ${ratios[1]} (off)`);
    // The summary's time column holds the time ratios, its states/s column the ratios of states per CPU second.
    summary.push(['spin', `ladder-${n}: ours / SPIN, reductions on; off`, verdicts.join('; '), states.join('; '), `${ratios.join('; ')} (time)`, `${throughput.join('; ')} (per CPU s)`, '']);
  }
  const headers = ['rung', 'ours', 'SPIN', 'ours: states', 'SPIN: states stored', 'states ours/SPIN', 'ours: time', 'SPIN: time', 'time ours/SPIN', 'states per CPU second ours/SPIN'];
  const [b0, b1] = [spinBuild(2, true, o.spinMemlim), spinBuild(2, false, o.spinMemlim)];
  const text = [
    `${spin.version}, on \`bench/peers/ladder.pml\` (\`spin ${b0.spin.join(' ').replace('ACTORS=2', 'ACTORS=N')}\` with N the rung's actors; \`gcc ${b0.gcc.join(' ')}\`, or with -DNOREDUCE: \`gcc ${b1.gcc.join(' ')}\`; \`./pan -m100000 -w${o.spinHash}\`), SPIN interrupted (SIGINT) at the budget. SPIN's time is pan's own elapsed time, its peak RSS column pan's own "total actual memory usage".`,
    '',
    'The peer takes the same atomic steps as ours: one d_step per step label of our routines, over the same shared state',
    '(ptes, page refcount/mapcount/lock/swap entry, mmap_lock readers, the interval notifier sequences, the update lock, the swap slot)',
    "and each actor's call frames and locals as ours holds them (bench/peers/README.md maps every d_step to its step). Without either",
    "side's reduction the two count the same states (SPIN one more: its state before the initialisation, less any state its hash",
    "compaction loses, as our fingerprints may; test/bench/spin-peers.test.ts checks it on ladder-2). SPIN's partial-order reduction finds nothing to reduce here (every d_step touches global state), so its",
    'two rows store the same states; ours merges the steps that touch only their own frames. A cell stopped at the budget gives a bound.',
    "The last column is the throughput over each process's CPU time (ours: Node's start-up and loading included; SPIN: pan's,",
    "measured by bash's `time`): the steadier figure on a shared machine, and the one left when neither side finishes. Both",
    `include a fixed cost, which dominates the smallest rungs: Node's start-up (about 0.5 s), pan's clearing of its 2^${o.spinHash}-slot hash table.`,
    '',
    '**Reductions on** (ours: step merging; SPIN: partial-order reduction, its default):',
    '',
    markdownTable(headers, tables.on),
    '',
    '**Reductions off** (ours: `--no-por`; SPIN: `-DNOREDUCE`):',
    '',
    markdownTable(headers, tables.off),
    '',
    table(rows),
  ].join('\n');
  return { title, text, summary };
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
}

function main(): void {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    process.exit(2);
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'bin.js'))) {
    console.error('bench: dist/ is missing; run `npm run build` first, or `npm run bench`, which does (the cells run the compiled CLI)');
    process.exit(2);
  }
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const started = new Date();
  const loadBefore = loadavg()[0];
  console.log(`vmamirror bench: ${o.only.join(', ')}${o.spin ? '' : ' (no SPIN)'}; budget ${o.budget} s per cell, --max-memory ${o.memory}`);
  console.log(`${machine()}; load average ${loadBefore.toFixed(2)}`);
  const sections: Section[] = [];
  const runners: Record<Rung, () => Section | undefined> = {
    catalogue: () => catalogueRung(o),
    ladder: () => ladderRung(o, 'ladder'),
    pages: () => ladderRung(o, 'pages'),
    reductions: () => reductionsRung(o),
    fidelity: () => fidelityRung(o),
    mutants: () => mutantsRung(o),
    workers: () => workersRung(o),
    spin: () => (o.spin ? spinRung(o) : undefined),
  };
  for (const rung of o.only) {
    console.log(`\n${rung}`);
    const s = runners[rung]();
    if (s) sections.push(s);
  }
  const minutes = (Date.now() - started.getTime()) / 60000;
  const loadAfter = loadavg()[0];
  console.log(`\ndone in ${minutes.toFixed(1)} min; load average ${loadAfter.toFixed(2)}`);
  if (!o.write) return;
  const summaryHeaders = ['rung', 'cell', 'verdict', 'states', 'time', 'states/s', 'peak RSS'];
  const summary = markdownTable(
    summaryHeaders,
    sections.flatMap((s) => s.summary),
  );
  const when = started
    .toISOString()
    .replace(/\.\d+Z$/, ' UTC')
    .replace('T', ' ');
  const header = [
    '# Bench: time to verdict',
    '',
    'Written by `npm run bench` (bench/run.ts); do not edit by hand. Each cell runs as a child process of its own:',
    '"search time" is the search\'s own, "process wall" the child\'s from start to exit (Node start-up and',
    'loading included), "CPU" its user + system time over every thread, "peak RSS" its maxRSS',
    "(`process.resourceUsage()` read at its exit: the explorer's tables, the heap and the runtime, all in).",
    `A cell that hits the budget (${o.budget} s, or --max-memory ${o.memory}) is "incomplete at N states".`,
    '',
    `    ${command}`,
    '',
    `Run ${when}, ${minutes.toFixed(1)} min. Machine: ${machine()}. Load average (1 min) ${loadBefore.toFixed(2)} at the start,`,
    `${loadAfter.toFixed(2)} at the end: **the machine's cores were shared with other sessions during the run**, so times are`,
    'pessimistic and CPU time is the steadier figure; compare runs taken alone. Earlier runs: `git log -p bench/RESULTS.md`.',
    '',
    '## Summary',
    '',
    summary,
  ].join('\n');
  writeFileSync(join(here, 'RESULTS.md'), `${header}\n\n${sections.map((s) => `## ${s.title}\n\n${s.text}`).join('\n\n')}\n`);
  const readme = join(ROOT, 'README.md');
  const body = [`\`${command}\`, ${when}; ${machine()}, its ${cpus().length} cores shared with other sessions during the run (bench/RESULTS.md has every cell and the load):`, '', summary].join('\n');
  writeFileSync(readme, replaceSection(readFileSync(readme, 'utf8'), body));
  console.log('wrote bench/RESULTS.md and the README bench table');
}

main();
