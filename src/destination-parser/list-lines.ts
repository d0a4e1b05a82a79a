/** One entry line of a ConfigMap list: its 1-based line number and its text, blanks trimmed. */
export interface ListLine {
  readonly number: number;
  readonly text: string;
}

const BLANK_OR_COMMENT = /^[ \t]*(#.*)?$/s;

/**
 * The entry lines of a list in the old images' format (the router's, the HTTP proxy's and the DNS
 * proxy's lists): one entry per line, blank lines and lines starting with `#` skipped, a Windows
 * line end and the spaces and tabs around an entry removed.
 *
 * @param text the list
 * @returns the entry lines in order, with their numbers in the text
 * @example listLines('# comment\n\n 80 tcp 10.0.0.1 \r\n') // [{ number: 3, text: '80 tcp 10.0.0.1' }]
 */
export function listLines(text: string): ListLine[] {
  const out: ListLine[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = (lines[index] ?? '').replace(/\r$/, '');
    if (BLANK_OR_COMMENT.test(raw)) continue;
    out.push({ number: index + 1, text: raw.replace(/^[ \t]+|[ \t]+$/g, '') });
  }
  return out;
}
