import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parseSample, processMetricAggregation, sumPrometheusTexts } from './prometheus-sum.js';

/** A registry like a worker's: a labelled counter, a gauge, a histogram. */
function workerRegistry(requests: Record<string, number>, open: number, latencies: number[]): Registry {
  const registry = new Registry();
  const counter = new Counter({
    name: 'x_requests_total',
    help: 'Requests',
    labelNames: ['kind', 'status'],
    registers: [registry],
  });
  for (const [key, n] of Object.entries(requests)) {
    const [kind = '', status = ''] = key.split(' ');
    counter.inc({ kind, status }, n);
  }
  new Gauge({ name: 'x_open', help: 'Open now', registers: [registry] }).set(open);
  const histogram = new Histogram({
    name: 'x_seconds',
    help: 'Latency',
    buckets: [0.1, 1],
    registers: [registry],
  });
  for (const value of latencies) histogram.observe(value);
  return registry;
}

/** The value of one series in an exposition. */
function seriesValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    const sample = parseSample(line);
    if (sample && sample.head === series) return sample.value;
  }
  return undefined;
}

describe('sumPrometheusTexts()', () => {
  test('sumPrometheusTexts() sums counters per label set, gauges, and histograms per bucket', async () => {
    const a = await workerRegistry({ 'http 200': 3, 'connect 200': 1 }, 2, [0.05, 0.5]).metrics();
    const b = await workerRegistry({ 'http 200': 4, 'http 403': 2 }, 5, [2]).metrics();
    const sum = sumPrometheusTexts([a, b]);
    assert.equal(seriesValue(sum, 'x_requests_total{kind="http",status="200"}'), 7);
    assert.equal(seriesValue(sum, 'x_requests_total{kind="connect",status="200"}'), 1);
    assert.equal(seriesValue(sum, 'x_requests_total{kind="http",status="403"}'), 2);
    assert.equal(seriesValue(sum, 'x_open'), 7);
    assert.equal(seriesValue(sum, 'x_seconds_bucket{le="0.1"}'), 1);
    assert.equal(seriesValue(sum, 'x_seconds_bucket{le="1"}'), 2);
    assert.equal(seriesValue(sum, 'x_seconds_bucket{le="+Inf"}'), 3);
    assert.equal(seriesValue(sum, 'x_seconds_count'), 3);
    assert.equal(seriesValue(sum, 'x_seconds_sum'), 2.55);
    // One HELP and one TYPE per family, in the order first seen.
    assert.deepEqual(
      sum.split('\n').filter((line) => line.startsWith('# TYPE')),
      ['# TYPE x_requests_total counter', '# TYPE x_open gauge', '# TYPE x_seconds histogram'],
    );
  });

  test('sumPrometheusTexts() matches label sets in any order, keeping the first spelling', () => {
    const sum = sumPrometheusTexts(['m{a="1",b="2"} 1\n', 'm{b="2",a="1"} 2\n']);
    assert.equal(sum, 'm{a="1",b="2"} 3\n');
  });

  test('sumPrometheusTexts() reads escaped label values and special values, drops timestamps', () => {
    const sum = sumPrometheusTexts([
      'm{path="a \\"b\\" \\\\ c"} 1 1700000000000\nn +Inf\n',
      'm{path="a \\"b\\" \\\\ c"} 2\nn 1\n',
    ]);
    assert.equal(sum, 'm{path="a \\"b\\" \\\\ c"} 3\n\nn +Inf\n');
  });

  test('sumPrometheusTexts() aggregates a family as told: first, max, min', () => {
    const texts = [
      '# TYPE reloads counter\nreloads{result="applied"} 2\n# TYPE lag gauge\nlag 0.5\n# TYPE start gauge\nstart 100\n',
      '# TYPE reloads counter\nreloads{result="applied"} 9\nreloads{result="invalid"} 1\n# TYPE lag gauge\nlag 0.25\n# TYPE start gauge\nstart 90\n',
    ];
    const aggregations: Record<string, 'first' | 'max' | 'min'> = {
      reloads: 'first',
      lag: 'max',
      start: 'min',
    };
    const sum = sumPrometheusTexts(texts, { aggregation: (family) => aggregations[family] });
    assert.equal(seriesValue(sum, 'reloads{result="applied"}'), 2);
    assert.equal(seriesValue(sum, 'reloads{result="invalid"}'), undefined);
    assert.equal(seriesValue(sum, 'lag'), 0.5);
    assert.equal(seriesValue(sum, 'start'), 90);
  });

  test('sumPrometheusTexts() takes the largest quantile of a summary and sums its _sum and _count', () => {
    const text = (q: number, count: number) =>
      `# TYPE s summary\ns{quantile="0.5"} ${q}\ns_sum ${count * 2}\ns_count ${count}\n`;
    const sum = sumPrometheusTexts([text(0.2, 3), text(0.7, 4)]);
    assert.equal(seriesValue(sum, 's{quantile="0.5"}'), 0.7);
    assert.equal(seriesValue(sum, 's_count'), 7);
    assert.equal(seriesValue(sum, 's_sum'), 14);
  });

  test('sumPrometheusTexts() of counts split over processes is the count of the whole (property)', async () => {
    const series = fc.constantFrom('http 200', 'http 403', 'connect 200', 'connect 502');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(series, fc.integer({ min: 1, max: 1000 })), { maxLength: 6 }), {
          minLength: 1,
          maxLength: 5,
        }),
        async (workers) => {
          const texts = await Promise.all(
            workers.map((counts) => {
              const requests: Record<string, number> = {};
              for (const [key, n] of counts) requests[key] = (requests[key] ?? 0) + n;
              return workerRegistry(requests, counts.length, []).metrics();
            }),
          );
          const whole: Record<string, number> = {};
          for (const [key, n] of workers.flat()) whole[key] = (whole[key] ?? 0) + n;
          const expected = await workerRegistry(
            whole,
            workers.reduce((total, counts) => total + counts.length, 0),
            [],
          ).metrics();
          const sum = sumPrometheusTexts(texts);
          for (const line of expected.split('\n')) {
            const sample = parseSample(line);
            if (sample) assert.equal(seriesValue(sum, sample.head), sample.value, sample.head);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

test('processMetricAggregation() keeps the oldest start time and the largest lag and version', () => {
  assert.equal(processMetricAggregation('process_start_time_seconds'), 'min');
  assert.equal(processMetricAggregation('nodejs_eventloop_lag_p99_seconds'), 'max');
  assert.equal(processMetricAggregation('nodejs_version_info'), 'max');
  assert.equal(processMetricAggregation('process_cpu_seconds_total'), undefined);
});
