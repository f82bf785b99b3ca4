/** Text the command prints about its input: never raw bytes of it (control characters, binary). */

/** `text` made printable on one line and cut to `max` characters: control and non-printing characters as \u escapes. */
export function shown(text: string, max = 80): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd\ufeff]/g, (c) => (c === '\ufffd' ? '?' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/** An error message made safe to print: each line as `shown` makes it (line breaks kept), at most 300 characters. */
export function printable(message: string): string {
  return message
    .split('\n')
    .map((line) => shown(line, 300))
    .join('\n');
}
