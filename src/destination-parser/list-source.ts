/** What the caller read from a `*_FILE` variable's file: the text, or why it could not be read. */
export type DestinationFileRead = { readonly text: string } | { readonly error: string };

/** Where a list comes from: its text (undefined when neither variable is set), or why it cannot be had. */
export type ListSource =
  | { readonly ok: true; readonly text: string | undefined }
  | { readonly ok: false; readonly problem: 'both-set' | 'unreadable'; readonly message: string };

/**
 * Chooses a list's text between a variable and its `_FILE` twin (a mounted ConfigMap), as every
 * image does: both set is an error, a file that could not be read is an error saying why, and an
 * empty variable counts as unset. Pure: the caller read the file.
 *
 * @param variable the variable's name, e.g. `EGRESS_DESTINATION` (the file variable adds `_FILE`)
 * @param inline the variable's value
 * @param path the `_FILE` variable's value
 * @param file what was read from `path`, when it is set
 * @returns the text, or the problem with a message for the caller to put in its own error
 */
export function chooseListSource(
  variable: string,
  inline: string | undefined,
  path: string | undefined,
  file: DestinationFileRead | undefined,
): ListSource {
  if (inline && path) {
    return {
      ok: false,
      problem: 'both-set',
      message: `${variable} and ${variable}_FILE are both set, use one`,
    };
  }
  if (!path) return { ok: true, text: inline || undefined };
  if (!file || 'error' in file) {
    const reason = file && 'error' in file ? file.error : 'not read';
    return { ok: false, problem: 'unreadable', message: `cannot read ${variable}_FILE '${path}': ${reason}` };
  }
  return { ok: true, text: file.text };
}
