import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dnsProxyError, formatErrors } from './errors.js';

describe('formatErrors()', () => {
  test('formatErrors() prefixes errors about a line with origin and line, leaves the others plain', () => {
    assert.deepEqual(
      formatErrors(
        [
          dnsProxyError('DESTINATION_INVALID', "Bad destination '80 x'", 3),
          dnsProxyError(
            'SETTING_INVALID',
            "EGRESS_DNS_PROXY_ADMIN_PORT 'x' is invalid: must be a whole number from 1 to 65535",
          ),
        ],
        '/cm/destination',
      ),
      [
        "/cm/destination:3: Bad destination '80 x'",
        "EGRESS_DNS_PROXY_ADMIN_PORT 'x' is invalid: must be a whole number from 1 to 65535",
      ],
    );
  });
});
