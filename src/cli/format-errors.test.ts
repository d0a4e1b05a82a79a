import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configError } from '../destination-parser/errors.js';
import { formatErrors } from './format-errors.js';

test('formatErrors() prefixes list errors with origin and line, and leaves the others plain', () => {
  assert.deepEqual(
    formatErrors(
      [
        configError('SOURCE_INVALID', 'EGRESS_SOURCE unspecified or invalid'),
        configError('DESTINATION_INVALID', "EGRESS_DESTINATION value 'x' is invalid", 3),
        configError('FALLBACK_NOT_LAST', 'EGRESS_DESTINATION fallback IP must be the last line', 12),
      ],
      '/etc/egress/destination',
    ),
    [
      'EGRESS_SOURCE unspecified or invalid',
      "/etc/egress/destination:3: EGRESS_DESTINATION value 'x' is invalid",
      '/etc/egress/destination:12: EGRESS_DESTINATION fallback IP must be the last line',
    ],
  );
});

test('formatErrors() of no error is no line', () => {
  assert.deepEqual(formatErrors([], 'EGRESS_DESTINATION'), []);
});
