/**
 * Citations as data: every step says what code it models, in one checked format, parsed when the
 * routine is defined:
 *
 *   - kernel code:  `path/file.c:function` or `path/file.h:function`, optionally followed by a space
 *                   and the statement or detail (`mm/memory.c:do_anonymous_page pte_offset_map_lock`);
 *   - hardware:     `hw: what the CPU or device does` (a user load/store, a guest access);
 *   - driver code:  `SOURCE: statement`, where SOURCE is one of the names the driver's library
 *                   declares (`mirror: mutex_lock(update)`, `seed e-mail: take_lock(kvmms->update)`).
 *
 * A library says which forms its steps may use (`CitePolicy`); the kernel's and KVM's may cite only
 * kernel code and hardware. Tests' libraries declare no policy and may write anything.
 */
export type Citation =
  | { readonly kind: 'kernel'; readonly file: string; readonly fn: string; readonly detail: string }
  | { readonly kind: 'hw'; readonly text: string }
  | { readonly kind: 'source'; readonly source: string; readonly text: string }
  | { readonly kind: 'free'; readonly text: string };

/** What a library's steps may cite: kernel code and hardware only, or also the named driver sources. */
export type CitePolicy = { readonly kind: 'kernel' } | { readonly kind: 'driver'; readonly sources: readonly string[] };

const KERNEL_CODE = /^((?:mm|kernel|arch|virt|include|lib|drivers|fs)\/[\w/.-]+\.[ch]):(\w+)(?: (.+))?$/;
const HARDWARE = /^hw: (.+)$/;

/** Parses `at` under `policy`; returns the citation, or a sentence saying what was expected. */
export function parseCitation(at: string, policy: CitePolicy | undefined): Citation | string {
  const k = KERNEL_CODE.exec(at);
  if (k) return { kind: 'kernel', file: k[1], fn: k[2], detail: k[3] ?? '' };
  const h = HARDWARE.exec(at);
  if (h) return { kind: 'hw', text: h[1] };
  if (!policy) return { kind: 'free', text: at };
  if (policy.kind === 'driver') {
    for (const source of policy.sources) {
      if (at.startsWith(`${source}: `) && at.length > source.length + 2) return { kind: 'source', source, text: at.slice(source.length + 2) };
    }
  }
  const forms = ['`path/file.c:function [detail]` (kernel code)', '`hw: …` (hardware)'];
  if (policy.kind === 'driver') forms.push(...policy.sources.map((s) => `\`${s}: …\``));
  return `"${at}" is not a citation; expected ${forms.join(', ')}`;
}

/** The citation as printed in traces and `explain`. */
export function formatCitation(c: Citation): string {
  switch (c.kind) {
    case 'kernel':
      return `${c.file}:${c.fn}${c.detail ? ` ${c.detail}` : ''}`;
    case 'hw':
      return `hw: ${c.text}`;
    case 'source':
      return `${c.source}: ${c.text}`;
    case 'free':
      return c.text;
  }
}
