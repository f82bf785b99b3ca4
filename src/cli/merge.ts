/**
 * `merge`: shard outputs (`check --shard i/N --json`) into one verdict, exiting as the unsharded
 * check would (the catalogue table by its expectations, see outcome.ts). Every input is checked
 * first (shard-input.ts); an inconsistency between them is exit 2 with one line. The scenario
 * files given with --file state expectations (`expect:`): the merged cells are judged by them as
 * the unsharded check judges its cells (a shard alone judges nothing: it sees part of the runs).
 */
import { mergeCatalogueShards, mergeShardResults, type CatalogueShardResult, type MergedResult } from '../check/shard.js';
import type { ScenarioSimulateResult } from '../check/run.js';
import { tableExpectations } from '../check/run.js';
import { encodeChoices } from '../engine/schedule.js';
import { verdictTable } from '../report/text.js';
import { EXIT_INCOMPLETE, EXIT_VIOLATION, fail } from './exit.js';
import { exitCodeOf, incompleteSentence, simulationExitCode } from './outcome.js';
import { readJsonFile } from './json-input.js';
import { builtInOr, shardDocument, type ShardDocument } from './shard-input.js';
import { scenarioArgument } from './selection.js';
import { finalNote } from './check.js';
import { judgedLine, judgeExpectations, type Expectation } from '../check/expect.js';
import { isScenarioFile, scenarioFile } from './scenario-files.js';
import { tracesOf, type TraceFor } from './reports.js';
import { mergeSwarm, swarmLine, type SwarmShardResult } from '../check/swarm.js';

/** Shard files are small JSON documents: a bigger file is not one. */
const MAX_SHARD_BYTES = 256 * 2 ** 20;

export function mergeFiles(files: readonly string[], opts: { json?: boolean; file?: string[] }): number {
  const lookup = builtInOr((opts.file ?? []).map(scenarioArgument));
  const docs = files.map((f) => shardDocument(readJsonFile(f, 'a shard result', MAX_SHARD_BYTES), f, lookup));
  const kinds = new Set(docs.map((d) => d.kind));
  const named = { catalogue: 'catalogue', simulate: 'simulation', swarm: 'swarm' } as const;
  if (kinds.size > 1) fail(`cannot merge ${[...kinds].map((k) => named[k]).join(' shards with ')} shards`);
  const scenarioFiles = (opts.file ?? []).filter(isScenarioFile).map(scenarioFile);
  const expected = { expectations: scenarioFiles.flatMap((f) => f.expectations), traceFor: tracesOf(scenarioFiles.map((f) => f.spec)) };
  try {
    if (docs[0].kind === 'swarm')
      return mergeSwarmMembers(
        docs.map((d) => d.doc as SwarmShardResult),
        opts,
      );
    return docs[0].kind === 'catalogue'
      ? mergeCatalogue(
          docs.map((d) => d.doc as CatalogueShardResult),
          opts,
          expected,
        )
      : mergeSimulations(docs, opts);
  } catch (e) {
    // The merge's own consistency checks (shard.ts): shards of other splits, a shard twice.
    if (e instanceof Error && (e.constructor === Error || e instanceof RangeError)) fail(e.message);
    throw e;
  }
}

function mergeCatalogue(shards: readonly CatalogueShardResult[], opts: { json?: boolean }, files: { expectations: readonly Expectation[]; traceFor: TraceFor }): number {
  const table = shards[0].table === true;
  if (shards.some((s) => (s.table === true) !== table)) fail('shards of the whole table cannot be merged with shards of a selection');
  const m = mergeCatalogueShards(shards);
  const judged = judgeExpectations(files.expectations, m.results, files.traceFor);
  if (opts.json) console.log(JSON.stringify({ ...m, results: m.results.map((r) => (judged.cells.has(r) ? { ...r, expected: judged.cells.get(r) } : r)) }, null, 2));
  else {
    console.log(verdictTable(m.results));
    if (table) for (const p of tableExpectations(m.results).problems) console.log(`UNEXPECTED: ${p}`);
    for (const [r, j] of judged.cells) console.log(judgedLine(r, j));
  }
  const names = shards[0].cellNames;
  if (m.missingCells.length) {
    const sentence = `incomplete: ${m.missingCells.length} of ${names.length} cells are in no shard given (missing shards: ${m.missingShards.join(', ')})`;
    if (opts.json) process.stderr.write(`vmamirror: ${sentence}\n`);
    else console.log(sentence);
    return exitCodeOf(m.results, table ? 'table-shard' : 'cells', judged) === EXIT_VIOLATION ? EXIT_VIOLATION : EXIT_INCOMPLETE;
  }
  finalNote(incompleteSentence(m.results), 0, opts.json);
  return exitCodeOf(m.results, table ? 'table' : 'cells', judged);
}

/** A swarm's members into one verdict per cell: a violation, a proof by a complete search, or incomplete with coverage. */
function mergeSwarmMembers(members: readonly SwarmShardResult[], opts: { json?: boolean }): number {
  const cells = mergeSwarm(members);
  if (opts.json) console.log(JSON.stringify(cells, null, 2));
  else for (const c of cells) console.log(swarmLine(c));
  const judged = cells.map((c) => ({
    ...c,
    stopReason: c.verdict === 'incomplete' ? (c.coverage.missingMembers.length ? 'with members missing' : 'with no member searching every state') : undefined,
  }));
  finalNote(incompleteSentence(judged), 0, opts.json);
  return simulationExitCode(judged);
}

function mergeSimulations(docs: readonly ShardDocument[], opts: { json?: boolean }): number {
  const groups = new Map<string, ScenarioSimulateResult[]>();
  for (const r of docs.flatMap((d) => d.doc as ScenarioSimulateResult[])) {
    const key = `${r.scenario}/${r.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: Record<string, MergedResult> = {};
  const judged: { scenario: string; variant: string; verdict: string; stopReason?: string }[] = [];
  for (const [key, rs] of groups) {
    const m = mergeShardResults(rs);
    out[key] = m;
    const stopReason =
      m.verdict !== 'incomplete' ? undefined : m.missingShards.length ? 'missing shards' : m.runs && m.truncatedRuns === m.runs ? 'max-steps' : rs.find((r) => r.stopReason)?.stopReason;
    judged.push({ scenario: rs[0].scenario, variant: rs[0].variant, verdict: m.verdict, stopReason });
    if (!opts.json) {
      const v = m.violation ? ` — ${m.violation.property}: ${m.violation.message}\n  schedule: ${key}:${encodeChoices(m.violation.schedule)}` : '';
      console.log(`${key}: ${m.verdict}${v}${m.missingShards.length ? ` (missing shards ${m.missingShards.join(', ')})` : ''}`);
    }
  }
  if (opts.json) console.log(JSON.stringify(out, null, 2));
  finalNote(incompleteSentence(judged), 0, opts.json);
  return simulationExitCode(judged);
}
