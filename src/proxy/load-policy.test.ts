import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describePolicy, loadPolicy } from './load-policy.js';
import { parsePolicy } from './policy/parse-policy.js';

describe('loadPolicy()', () => {
  test('loadPolicy() compiles EGRESS_HTTP_PROXY_DESTINATION', () => {
    const loaded = loadPolicy({ EGRESS_HTTP_PROXY_DESTINATION: 'example.com\n*' });
    assert.ok(loaded.ok);
    assert.equal(loaded.text, 'example.com\n*');
    assert.equal(loaded.compiled.rules.length, 1);
    assert.equal(loaded.compiled.policy.allowRest, true);
  });

  test('loadPolicy() compiles the text read from EGRESS_HTTP_PROXY_DESTINATION_FILE', () => {
    const loaded = loadPolicy(
      { EGRESS_HTTP_PROXY_DESTINATION_FILE: '/config/destination' },
      { text: '10.0.0.0/8\n' },
    );
    assert.ok(loaded.ok);
    assert.equal(loaded.text, '10.0.0.0/8\n');
    assert.equal(loaded.compiled.rules[0]?.text, '10.0.0.0/8');
  });

  const errors: [string, Parameters<typeof loadPolicy>, string, number | undefined][] = [
    ['nothing set', [{}], 'No EGRESS_HTTP_PROXY_DESTINATION specified', undefined],
    [
      'an empty variable',
      [{ EGRESS_HTTP_PROXY_DESTINATION: '' }],
      'No EGRESS_HTTP_PROXY_DESTINATION specified',
      undefined,
    ],
    [
      'both the variable and the file',
      [
        { EGRESS_HTTP_PROXY_DESTINATION: '*', EGRESS_HTTP_PROXY_DESTINATION_FILE: '/config/destination' },
        { text: '*' },
      ],
      'EGRESS_HTTP_PROXY_DESTINATION and EGRESS_HTTP_PROXY_DESTINATION_FILE are both set, use one',
      undefined,
    ],
    [
      'an unreadable file',
      [{ EGRESS_HTTP_PROXY_DESTINATION_FILE: '/config/destination' }, { error: 'ENOENT' }],
      "No EGRESS_HTTP_PROXY_DESTINATION specified: cannot read EGRESS_HTTP_PROXY_DESTINATION_FILE '/config/destination': ENOENT",
      undefined,
    ],
    [
      'an empty file',
      [{ EGRESS_HTTP_PROXY_DESTINATION_FILE: '/config/destination' }, { text: '' }],
      'No EGRESS_HTTP_PROXY_DESTINATION specified',
      undefined,
    ],
    [
      'a bad rule',
      [{ EGRESS_HTTP_PROXY_DESTINATION: 'ok.example\n!foo bar' }],
      "Bad destination 'foo bar'",
      2,
    ],
    [
      'a rule after *',
      [{ EGRESS_HTTP_PROXY_DESTINATION: '*\nexample.com' }],
      'Wildcard must be last rule, if present',
      2,
    ],
  ];
  for (const [what, args, message, line] of errors) {
    test(`loadPolicy() reports ${what}`, () => {
      const loaded = loadPolicy(...args);
      assert.ok(!loaded.ok);
      assert.equal(loaded.errors[0]?.message, message);
      assert.equal(loaded.errors[0]?.line, line);
    });
  }
});

describe('describePolicy()', () => {
  test('describePolicy() prints the compiled rules in order, then what happens to the rest', () => {
    const parsed = parsePolicy(
      '# example\n!*.Bad.Example.com.\n*.example.com\n192.168.1.77/24\nfe80::/10\n!www.example.net\n*',
    );
    assert.ok(parsed.ok);
    assert.deepEqual(describePolicy(parsed.value), [
      '    1  deny   domain   *.bad.example.com  (line 2)',
      '    2  allow  domain   *.example.com  (line 3)',
      '    3  allow  address  192.168.1.0/24  (line 4)',
      '    4  allow  address  fe80::/10  (line 5)',
      '    5  deny   name     www.example.net  (line 6)',
      '    *  allow  rest     everything no rule decided  (line 7)',
    ]);
  });

  test('describePolicy() says the rest is denied without a final *', () => {
    const parsed = parsePolicy('example.com');
    assert.ok(parsed.ok);
    assert.deepEqual(describePolicy(parsed.value), [
      '    1  allow  name     example.com  (line 1)',
      '    -  deny   rest     everything no rule decided (no final *)',
    ]);
  });
});
