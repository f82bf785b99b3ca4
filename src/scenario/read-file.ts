/**
 * Reading a scenario file's text, before any parsing: a regular file (never a device, a FIFO or a
 * folder, which could block or never end) or `-` for standard input; at most MAX_SCENARIO_BYTES
 * (read no further); UTF-8 text without NUL bytes; one YAML document. Anything else is one problem
 * naming the file, and nothing of its content is echoed.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** Scenario files are a few kilobytes: a bigger input is not one. */
export const MAX_SCENARIO_BYTES = 1 << 20;

/** What is wrong with the input as a whole (the caller makes it a ScenarioError). */
export class UnreadableScenario extends Error {}

/** The name used in messages for standard input. */
export const STDIN_NAME = '<stdin>';

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/** Up to `cap` bytes of `fd`, or undefined if there are more. */
function readCapped(fd: number, cap: number): Buffer | undefined {
  const buf = Buffer.alloc(cap + 1);
  let n = 0;
  for (;;) {
    let got: number;
    try {
      got = readSync(fd, buf, n, buf.length - n, null);
    } catch (e) {
      // A non-blocking standard input with nothing yet: wait a little.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    if (got === 0) return buf.subarray(0, n);
    n += got;
    if (n > cap) return undefined;
  }
}

/** The text of the scenario file `path` (`-`: standard input), checked as the header says. */
export function readScenarioText(path: string): string {
  const stdin = path === '-';
  let bytes: Buffer | undefined;
  try {
    if (!stdin) {
      const st = statSync(path);
      if (!st.isFile()) throw new UnreadableScenario(`${kindOf(st)}, not a regular file; expected a scenario file`);
    }
    const fd = stdin ? 0 : openSync(path, 'r');
    try {
      bytes = readCapped(fd, MAX_SCENARIO_BYTES);
    } finally {
      if (!stdin) closeSync(fd);
    }
  } catch (e) {
    if (e instanceof UnreadableScenario) throw e;
    const reason = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
    throw new UnreadableScenario(`cannot read the file (${reason}); expected a readable scenario file`);
  }
  if (!bytes) throw new UnreadableScenario(`more than ${MAX_SCENARIO_BYTES} bytes; a scenario file is a few kilobytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UnreadableScenario('not UTF-8 text (binary content?); expected a YAML or JSON scenario');
  }
  if (text.includes('\0')) throw new UnreadableScenario('binary content (a NUL byte); expected a YAML or JSON scenario');
  return text;
}

/** Standard input has no extension: JSON if it starts with `{`, else YAML. */
export function sniffFormat(text: string): 'yaml' | 'json' {
  return /^\s*\{/.test(text) ? 'json' : 'yaml';
}

/** The line of the second YAML document, if the text holds more than one. */
export function secondYamlDocument(text: string): number | undefined {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length < 2) return undefined;
  const offset = docs[1].range?.[0] ?? 0;
  return text.slice(0, offset).split('\n').length;
}
