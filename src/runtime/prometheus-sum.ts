/** How the samples of one metric family are put together over several processes. */
export type Aggregation = 'sum' | 'max' | 'min' | 'first';

/** Options of {@link sumPrometheusTexts}. */
export interface SumOptions {
  /**
   * The aggregation of a family by its name (default `sum`). `first` takes the family from the
   * first text that has it, and nothing from the others (a value only the first process knows).
   */
  readonly aggregation?: (family: string) => Aggregation | undefined;
}

/** One family as it is being put together. */
interface Family {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  /** The text (index) it was first seen in: `first` keeps only that one. */
  readonly from: number;
  /** Samples by series key (name and sorted labels), in the order first seen. */
  readonly samples: Map<string, { readonly head: string; value: number; readonly quantile: boolean }>;
}

/**
 * The aggregations that make sense for Node's default process metrics (prom-client's
 * `collectDefaultMetrics`) over several processes; everything else is summed. Start time: the
 * oldest; versions and the event loop's lag: the largest.
 *
 * @param family a family name
 * @returns its aggregation, or undefined for the default (sum)
 */
export function processMetricAggregation(family: string): Aggregation | undefined {
  if (family === 'process_start_time_seconds') return 'min';
  if (family === 'nodejs_version_info' || family.startsWith('nodejs_eventloop_lag')) return 'max';
  return undefined;
}

/**
 * Sums Prometheus text expositions (format 0.0.4) of several processes into one: per family (in
 * the order first seen, with the first HELP and TYPE), each series (the same sample name and
 * label set, in any label order) summed, so counters and gauges are summed per label set and
 * histograms per bucket (and `_sum`, `_count`); a summary's quantiles take the largest. A family
 * may be aggregated otherwise (see {@link SumOptions.aggregation}). Timestamps are dropped.
 * Lines that are not samples, HELP or TYPE are ignored.
 *
 * @param texts the expositions, e.g. the supervisor's own first, then each worker's
 * @param options per-family aggregation
 * @returns one exposition
 */
export function sumPrometheusTexts(texts: readonly string[], options: SumOptions = {}): string {
  const families = new Map<string, Family>();
  const familyOf = (name: string, index: number): Family => {
    let family = families.get(name);
    if (!family) {
      family = { name, help: undefined, type: undefined, from: index, samples: new Map() };
      families.set(name, family);
    }
    return family;
  };
  texts.forEach((text, index) => {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) {
        const match = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$/.exec(line);
        if (!match) continue;
        current = familyOf(match[2]!, index);
        if (match[1] === 'HELP') current.help ??= match[3] ?? '';
        else current.type ??= (match[3] ?? 'untyped').trim();
        continue;
      }
      const sample = parseSample(line);
      if (!sample) continue;
      const family =
        current !== undefined && belongsTo(sample.name, current) ? current : familyOf(sample.name, index);
      const aggregation = options.aggregation?.(family.name) ?? 'sum';
      if (aggregation === 'first' && family.from !== index) continue;
      const quantile = family.type === 'summary' && sample.labels.some(([label]) => label === 'quantile');
      const existing = family.samples.get(sample.key);
      if (!existing) {
        family.samples.set(sample.key, { head: sample.head, value: sample.value, quantile });
        continue;
      }
      existing.value = combine(quantile ? 'max' : aggregation, existing.value, sample.value);
    }
  });
  const out: string[] = [];
  for (const family of families.values()) {
    if (family.help !== undefined) out.push(`# HELP ${family.name} ${family.help}`);
    if (family.type !== undefined) out.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples.values()) out.push(`${sample.head} ${formatValue(sample.value)}`);
    out.push('');
  }
  return out.join('\n');
}

function combine(aggregation: Aggregation, a: number, b: number): number {
  switch (aggregation) {
    case 'max':
      return Math.max(a, b);
    case 'min':
      return Math.min(a, b);
    case 'first':
      return a;
    default:
      return a + b;
  }
}

const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

function belongsTo(sample: string, family: Family): boolean {
  if (sample === family.name) return true;
  return (SUFFIXES[family.type ?? ''] ?? []).some((suffix) => sample === family.name + suffix);
}

/** A sample line: `name{a="x",b="y"} value [timestamp]`. */
interface Sample {
  readonly name: string;
  /** `name{labels}` as written (emitted again as it is). */
  readonly head: string;
  readonly labels: [string, string][];
  /** The name and the labels sorted by name: the series' identity. */
  readonly key: string;
  readonly value: number;
}

/**
 * Parses one sample line of the text format.
 *
 * @param line the line
 * @returns the sample, or undefined for a blank or malformed line
 */
export function parseSample(line: string): Sample | undefined {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return undefined;
  const name = nameMatch[0];
  let at = name.length;
  const labels: [string, string][] = [];
  if (line[at] === '{') {
    at++;
    for (;;) {
      while (line[at] === ' ' || line[at] === ',') at++;
      if (line[at] === '}') {
        at++;
        break;
      }
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at));
      if (!label || line[at + label[0].length] !== '=' || line[at + label[0].length + 1] !== '"')
        return undefined;
      at += label[0].length + 2;
      let value = '';
      for (;;) {
        const char = line[at];
        if (char === undefined) return undefined;
        if (char === '"') break;
        if (char === '\\') {
          const next = line[at + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          at += 2;
          continue;
        }
        value += char;
        at++;
      }
      at++;
      labels.push([label[0], value]);
    }
  }
  const head = line.slice(0, at);
  const [valueText] = line.slice(at).trim().split(/\s+/);
  if (valueText === undefined || valueText === '') return undefined;
  const value = parseValue(valueText);
  if (value === undefined) return undefined;
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const key = `${name}${JSON.stringify(sorted)}`;
  return { name, head, labels, key, value };
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
