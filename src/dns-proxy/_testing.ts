import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The path of a fixture in src/dns-proxy/testdata/. tsc does not copy .txt files into dist, so the
 * path is taken relative to the repository root from the compiled file.
 *
 * @param name the fixture's file name
 * @returns its absolute path
 */
export function testdataPath(name: string): string {
  return fileURLToPath(new URL(`../../../src/dns-proxy/testdata/${name}`, import.meta.url));
}

/**
 * Reads a fixture of src/dns-proxy/testdata/.
 *
 * @param name the fixture's file name
 * @returns its text
 */
export function readTestdata(name: string): string {
  return readFileSync(testdataPath(name), 'utf8');
}
