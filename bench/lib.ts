/**
 * The bench's pure parts: its options, reading what a child process printed (`check --json`,
 * SPIN's `pan`, the usage probe), and writing the figures as text and Markdown. No process is
 * started here, so test/bench/lib.test.ts can check all of it in milliseconds; bench/run.ts
 * runs the children.
 */

/** The rungs of the suite, in the order a full run takes them. */
export const RUNGS = ['catalogue', 'ladder', 'pages', 'reductions', 'fidelity', 'mutants', 'workers', 'spin'] as const;
export type Rung = (typeof RUNGS)[number];

export interface Options {
  /** Seconds each cell (one child process) may run: its `--time-limit`, and SPIN's timeout. */
  budget: number;
  /** The rungs to run (default: all). */
  only: readonly Rung[];
  spin: boolean;
  /** `--max-memory` of each check. */
  memory: string;
  /** The ladder rungs (numbers of actors, 2..6) the spin rung compares with SPIN. */
  spinRungs: readonly number[];
  spinMemlim: number;
  spinHash: number;
  /** Write bench/RESULTS.md and the README's bench table (default: only when every rung ran). */
  write: boolean;
  workers: number;
}

export const USAGE = `npm run bench -- [--budget S] [--only RUNG,...] [--skip-spin] [--memory SIZE] [--workers N]
                 [--spin-rungs N,...] [--spin-memlim MB] [--spin-hash W] [--write | --no-write]
rungs: ${RUNGS.join(', ')}`;

/** The options of `npm run bench -- …`, or an Error naming the bad one. */
export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { budget: 120, only: RUNGS, spin: true, memory: '6G', spinRungs: [2, 3, 4], spinMemlim: 16000, spinHash: 28, write: true, workers: 2 };
  let write: boolean | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const positive = (what: string): number => {
      const v = val();
      const n = Number(v);
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`${what} must be a positive integer, got "${v}"`);
      return n;
    };
    if (a === '--budget') o.budget = positive('--budget');
    else if (a === '--only') {
      const names = val().split(',');
      for (const n of names) if (!(RUNGS as readonly string[]).includes(n)) throw new Error(`--only: unknown rung "${n}"; expected ${RUNGS.join(', ')}`);
      o.only = RUNGS.filter((r) => names.includes(r));
    } else if (a === '--skip-spin') o.spin = false;
    else if (a === '--memory') o.memory = val();
    else if (a === '--workers') o.workers = positive('--workers');
    else if (a === '--spin-rungs') {
      const v = val();
      const rungs = v.split(',').map(Number);
      if (!rungs.every((n) => Number.isInteger(n) && n >= 2 && n <= 6)) throw new Error(`--spin-rungs: ladder rungs are 2..6 (actors), got "${v}"`);
      o.spinRungs = [...new Set(rungs)].sort((x, y) => x - y);
    } else if (a === '--spin-memlim') o.spinMemlim = positive('--spin-memlim');
    else if (a === '--spin-hash') o.spinHash = positive('--spin-hash');
    else if (a === '--write') write = true;
    else if (a === '--no-write') write = false;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (o.workers < 2) throw new Error('--workers must be at least 2 (the rung compares it with one thread)');
  // A partial run must not overwrite the figures of a full one unless asked to.
  o.write = write ?? (o.only.length === RUNGS.length && o.spin);
  return o;
}

/** One cell of `check --json`, the fields the bench reads. */
export interface CheckCell {
  scenario: string;
  variant: string;
  verdict: string;
  states: number;
  transitions: number;
  seconds: number;
  property?: string;
  stopReason?: string;
  /** A stopped breadth-first search: every run of at most this many transitions was covered. */
  completeDepth?: number;
}

/** The cells `check --json` printed (an array of objects; anything else is an Error quoting its start). */
export function parseCheckJson(stdout: string): CheckCell[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`check --json printed no JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  if (!Array.isArray(parsed)) throw new Error('check --json printed no array of cells');
  return parsed.map((c: Record<string, unknown>) => {
    const num = (k: string): number => (typeof c[k] === 'number' ? (c[k] as number) : Number.NaN);
    const violation = c.violation as { property?: string } | undefined;
    return {
      scenario: String(c.scenario),
      variant: String(c.variant),
      verdict: String(c.verdict),
      states: num('states'),
      transitions: num('transitions'),
      seconds: num('elapsedMs') / 1000,
      ...(violation?.property ? { property: violation.property } : {}),
      ...(typeof c.stopReason === 'string' ? { stopReason: c.stopReason } : {}),
      ...(typeof c.completeDepth === 'number' ? { completeDepth: c.completeDepth } : {}),
    };
  });
}

/** What the usage probe wrote at the child's exit (process.resourceUsage(): maxRSS in KiB, CPU in µs). */
export interface Usage {
  maxRssBytes: number;
  cpuSeconds: number;
}

/**
 * An ES module for `node --import`: at the main thread's exit it writes the whole process's
 * resourceUsage() (every thread: the CLI runs its command in a worker) to $BENCH_USAGE_FILE.
 */
export const USAGE_PROBE = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; import { isMainThread } from 'node:worker_threads';" +
    'if (isMainThread && process.env.BENCH_USAGE_FILE) process.on("exit", () => { const u = process.resourceUsage();' +
    ' writeFileSync(process.env.BENCH_USAGE_FILE, JSON.stringify({ maxRSS: u.maxRSS, userCPUTime: u.userCPUTime, systemCPUTime: u.systemCPUTime })); });',
)}`;

export function parseUsage(text: string): Usage {
  const u = JSON.parse(text) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
  return { maxRssBytes: u.maxRSS * 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 };
}

/** The result of `./pan` as the bench reports it. */
export interface SpinResult {
  verdict: string;
  states: number;
  transitions: number;
  seconds: number;
  vector: number;
  /** pan's own "total actual memory usage" (hash table, states, stack), in bytes. */
  memoryBytes: number;
  detail: string;
}

/** Which of our properties a failed Promela assertion stands for (by the expression SPIN prints). */
export function propertyOf(assertion: string): string {
  if (assertion.includes('sp[k]==0')) return 'deadlock';
  if (assertion.includes('pte[0].pfn==pte[1].pfn')) return 'refinement';
  if (assertion.includes('.gen==')) return 'no-dangling-pfn';
  if (assertion.includes('.mapc==')) return 'frame-accounting';
  if (assertion.includes('nactive==0')) return 'notifier-balance';
  return 'kernel-bug';
}

/**
 * Reads `./pan`'s output; `stopped` says it was interrupted at the budget (SIGINT: pan then prints
 * its summary, "Search not completed"; without one, its last progress line counts).
 */
export function parseSpinOutput(out: string, stopped: boolean, budget: number): SpinResult {
  const num = (re: RegExp): number => {
    const m = out.match(re);
    return m ? Number(m[1]) : Number.NaN;
  };
  const vector = num(/State-vector (\d+) byte/);
  const memoryBytes = num(/([\d.]+)\s+total actual memory usage/) * 2 ** 20;
  let states = num(/([\d.e+]+) states, stored/);
  let transitions = num(/([\d.e+]+) transitions \(= stored\+matched\)/);
  let seconds = num(/pan: elapsed time ([\d.e+]+) seconds/);
  if (stopped) {
    const last = [...out.matchAll(/Depth=\s*\d+ States=\s*([\d.e+]+) Transitions=\s*([\d.e+]+).*\st=\s*([\d.]+)/g)].at(-1);
    if (Number.isNaN(states) && last) [states, transitions, seconds] = [Number(last[1]), Number(last[2]), Number(last[3])];
    return { verdict: 'incomplete', states, transitions, seconds: Number.isNaN(seconds) ? budget : seconds, vector, memoryBytes, detail: `stopped at the budget of ${budget} s` };
  }
  const errors = num(/errors: (\d+)/);
  const failed = out.match(/assertion violated (.*) \(at depth (\d+)\)/);
  let verdict = 'holds';
  let detail = '';
  if (errors > 0) {
    verdict = failed ? `violation(${propertyOf(failed[1])})` : 'violation';
    detail = failed ? `assertion at depth ${failed[2]}` : (out.match(/pan:1: (.*)/)?.[1] ?? '');
  } else if (/max search depth too small/.test(out) || /out of memory/i.test(out)) {
    verdict = 'incomplete';
    detail = /out of memory/i.test(out) ? 'out of memory' : 'depth limit reached';
  } else if (Number.isNaN(errors)) verdict = 'unknown';
  return { verdict, states, transitions, seconds, vector, memoryBytes, detail };
}

/**
 * The steps a Promela peer documents: every `/* routine:label — … *\/` comment that stands right
 * above a `STEP(` line (bench/peers/ladder.pml), in file order.
 */
export function peerSteps(pml: string): string[] {
  const lines = pml.split('\n');
  const out: string[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = lines[i].match(/^\s*\/\*\s*([a-z_][a-z0-9_]*):([A-Za-z]+)\b/);
    // The comment may run over lines: the STEP is the first line after it that is not a comment line.
    let j = i + 1;
    while (j < lines.length && /^\s*\*/.test(lines[j])) j++;
    if (m && /^\s*STEP\(/.test(lines[j] ?? '')) out.push(`${m[1]}:${m[2]}`);
  }
  return out;
}

/** The labels a peer says it leaves out, with why: its `UNMODELLED routine:a,b routine2:c — reason` lines. */
export function peerUnmodelled(pml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of pml.matchAll(/^\s*\*\s*UNMODELLED\s+(.*?)\s+—\s+(.*)$/gm)) {
    for (const group of m[1].split(/\s+/)) {
      const [routine, labels] = group.split(':');
      for (const label of labels.split(',')) out.set(`${routine}:${label}`, m[2]);
    }
  }
  return out;
}

/** The CPU time (user + system, seconds) bash's `time` printed with TIMEFORMAT='BENCH_CPU %U %S', or NaN. */
export function parseBashCpu(out: string): number {
  const m = out.match(/BENCH_CPU ([\d.]+) ([\d.]+)/);
  return m ? Number(m[1]) + Number(m[2]) : Number.NaN;
}

/** How the bench builds a SPIN peer: spin -a's defines, then gcc's flags for pan (partial-order reduction on, or off with -DNOREDUCE). */
export function spinBuild(actors: number, reduce: boolean, memlim: number): { spin: string[]; gcc: string[] } {
  return {
    spin: [`-DACTORS=${actors}`, '-a', 'model.pml'],
    gcc: ['-O2', '-DSAFETY', '-DNOBOUNDCHECK', '-DHC4', '-DVECTORSZ=2048', `-DMEMLIM=${memlim}`, ...(reduce ? [] : ['-DNOREDUCE']), '-o', 'pan', 'pan.c'],
  };
}

/** One measured cell as the tables show it. */
export interface Row {
  /** The rung's own name for it (scenario, file, design, mutant…). */
  name: string;
  verdict: string;
  states: number;
  transitions: number;
  /** The search's own time (the CLI's elapsedMs, SPIN's elapsed time). */
  seconds: number;
  /** The child process's wall time, start-up included (NaN when not a process of its own). */
  wall: number;
  maxRssBytes: number;
  cpuSeconds: number;
  detail: string;
}

/**
 * `holds`, `violation(refinement)`, or `incomplete at 1,234 states (time), every run of ≤ 40
 * transitions covered`: an incomplete cell never reads as a result, and says how far it got.
 */
export function verdictText(c: Pick<CheckCell, 'verdict' | 'states' | 'property' | 'stopReason' | 'completeDepth'>): string {
  if (c.verdict === 'violation') return c.property ? `violation(${c.property})` : 'violation';
  if (c.verdict === 'incomplete') {
    const covered = c.completeDepth !== undefined ? `, every run of ≤ ${c.completeDepth} transitions covered` : '';
    return `incomplete at ${fmtInt(c.states)} states${c.stopReason ? ` (${c.stopReason})` : ''}${covered}`;
  }
  return c.verdict;
}

export const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const fmtSeconds = (n: number): string => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} s` : '-');
export const fmtMiB = (bytes: number): string => (Number.isFinite(bytes) ? `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB` : '-');
export const fmtRatio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}` : '-');
export const perSecond = (states: number, seconds: number): number => (seconds > 0 ? states / seconds : Number.NaN);

/**
 * Time to verdict of `a` over `b`: their ratio when both finished, a bound when one stopped at the
 * budget (its time is then a lower bound of its time to verdict), '-' when neither finished.
 */
export function timeRatio(a: Pick<Row, 'verdict' | 'seconds'>, b: Pick<Row, 'verdict' | 'seconds'>): string {
  const done = (r: Pick<Row, 'verdict'>) => !r.verdict.startsWith('incomplete') && r.verdict !== 'no verdict';
  if (done(a) && done(b)) return fmtRatio(a.seconds, b.seconds);
  if (done(a) && !done(b)) return `< ${fmtRatio(a.seconds, b.seconds)}`;
  if (!done(a) && done(b)) return `> ${fmtRatio(a.seconds, b.seconds)}`;
  return '- (neither finished)';
}

/** A Markdown table (cells are escaped for `|`). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const ROW_HEADERS = ['cell', 'verdict', 'states', 'transitions', 'search time', 'states/s', 'process wall', 'CPU', 'peak RSS'] as const;

/** A measured row as the cells of ROW_HEADERS. */
export function rowCells(r: Row): string[] {
  return [
    r.name,
    r.verdict + (r.detail ? ` — ${r.detail}` : ''),
    fmtInt(r.states),
    fmtInt(r.transitions),
    fmtSeconds(r.seconds),
    fmtInt(perSecond(r.states, r.seconds)),
    fmtSeconds(r.wall),
    fmtSeconds(r.cpuSeconds),
    fmtMiB(r.maxRssBytes),
  ];
}

export const README_START = '<!-- bench:start (written by npm run bench) -->';
export const README_END = '<!-- bench:end -->';

/** `text` with what lies between the two markers replaced by `body` (an Error when the markers are missing). */
export function replaceSection(text: string, body: string, start = README_START, end = README_END): string {
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`no "${start}" … "${end}" section to replace`);
  return `${text.slice(0, i + start.length)}\n${body.trim()}\n${text.slice(j)}`;
}
