import fc from 'fast-check';
import type { RouterEnv } from './config.js';

/** fast-check generators of router inputs, shared by the property tests. */

const SEPARATOR = fc.constantFrom(' ', ' ', '  ', '\t', ' \t ');
const EDGE_BLANK = fc.constantFrom('', '', '', ' ', '\t', '  \t');

const PORT = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('53', '80', '443', '8080', '1', '65535') },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 65535 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0', '65536', '800000', '080', '-1', 'http', '99999999999999999999', ''),
  },
);
const PROTOCOL = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('tcp', 'udp') },
  { weight: 1, arbitrary: fc.constantFrom('sctp', 'TCP', 'icmp', '') },
);
const ADDRESS = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4Extended() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '300.1.2.3',
      '1.2.3',
      '10.0.0.0/8',
      'fe80::1%eth0',
      '[2001:db8::1]',
      'example.com',
      '::ffff:1.2.3.4',
      '2001:DB8::1',
      '',
    ),
  },
);

/** One line of a destination list: mostly near-valid, sometimes broken, with odd blanks and CRs. */
const LINE = fc
  .tuple(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.tuple(PORT, SEPARATOR, PROTOCOL, SEPARATOR, ADDRESS).map((parts) => parts.join('')),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(PORT, SEPARATOR, PROTOCOL, SEPARATOR, ADDRESS, SEPARATOR, PORT)
          .map((parts) => parts.join('')),
      },
      { weight: 2, arbitrary: ADDRESS },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((text) => `#${text}`) },
      { weight: 1, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
      {
        weight: 1,
        arbitrary: fc
          .array(fc.oneof(PORT, PROTOCOL, ADDRESS), { maxLength: 6 })
          .chain((fields) => fc.constant(fields.join(' '))),
      },
    ),
    EDGE_BLANK,
    EDGE_BLANK,
    fc.boolean(),
  )
  .map(([line, before, after, crlf]) => `${before}${line}${after}${crlf ? '\r' : ''}`);

/** A destination list text built from near-valid lines. */
export const nearValidListText: fc.Arbitrary<string> = fc
  .array(LINE, { maxLength: 12 })
  .map((lines) => lines.join('\n'));

/** Any text at all: arbitrary Unicode, and strings over the list's own alphabet. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({
    unit: fc.constantFrom(...'0123456789abcdef.:/%[] \t\r\n#tcpudTCP'.split('')),
    maxLength: 200,
  }),
);

/** Source and gateway pairs: valid ones of each family layout, and some broken ones. */
const SOURCE_AND_GATEWAY = fc.constantFrom(
  { EGRESS_SOURCE: '1.2.3.4', EGRESS_GATEWAY: '1.2.3.1' },
  { EGRESS_SOURCE: '192.168.12.99/24', EGRESS_GATEWAY: '192.168.12.1' },
  { EGRESS_SOURCE: '2001:db8:12::99/64', EGRESS_GATEWAY: '2001:db8:12::1' },
  { EGRESS_SOURCE: '192.168.12.99/24,2001:db8:12::99/64', EGRESS_GATEWAY: '192.168.12.1,2001:db8:12::1' },
  { EGRESS_SOURCE: '1.2.3.4', EGRESS_GATEWAY: '2001:db8:12::1' },
  { EGRESS_SOURCE: '300.1.2.3', EGRESS_GATEWAY: '1.2.3.1' },
  { EGRESS_SOURCE: '', EGRESS_GATEWAY: '' },
);

/**
 * A router environment that is valid by construction: ports unique per protocol and family, at most
 * one fallback per family and only at the end, destinations only in the source's families, valid
 * interface names; in legacy mode also DNS names (mappings and a fallback). For the kernel tests,
 * which need rulesets to load.
 */
export const validRouterEnv: fc.Arbitrary<RouterEnv> = fc
  .record({
    layout: fc.constantFrom('4', '6', '46'),
    mode: fc.constantFrom('legacy', 'init', 'unit-test', 'http-proxy', 'dns-proxy'),
    mappings: fc.uniqueArray(
      fc.record({
        family: fc.constantFrom(4, 6),
        protocol: fc.constantFrom('tcp', 'udp'),
        port: fc.oneof(fc.constantFrom(53, 80, 443, 8080), fc.integer({ min: 1, max: 65535 })),
        remote: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        v4: fc.ipV4(),
        v6: fc.ipV6(),
      }),
      { maxLength: 10, selector: (m) => `${m.family}/${m.protocol}/${m.port}` },
    ),
    // DNS names, used in legacy mode only: a name mapping takes its port in every family.
    names: fc.uniqueArray(
      fc.record({
        protocol: fc.constantFrom('tcp', 'udp'),
        port: fc.integer({ min: 1, max: 65535 }),
        remote: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        name: fc.constantFrom('db.example.com', 'API.Example.com.', 'a-b.c0.test', 'x.y'),
      }),
      { maxLength: 4, selector: (n) => `${n.protocol}/${n.port}` },
    ),
    nameFallback: fc.option(fc.constantFrom('all.example.com', 'fallback.test'), { nil: undefined }),
    fallback4: fc.option(fc.ipV4(), { nil: undefined }),
    fallback6: fc.option(fc.ipV6(), { nil: undefined }),
    fallback6First: fc.boolean(),
    interfaces: fc.option(
      fc.tuple(
        fc.stringMatching(/^[a-z][a-z0-9_.@-]{0,14}$/),
        fc.stringMatching(/^[A-Z][A-Za-z0-9_.@-]{0,14}$/),
      ),
      { nil: undefined },
    ),
  })
  .map(
    ({ layout, mode, mappings, names, nameFallback, fallback4, fallback6, fallback6First, interfaces }) => {
      const families = new Set(layout === '46' ? [4, 6] : [Number(layout)]);
      const legacyNames = mode === 'legacy' ? names : [];
      const taken = new Set(legacyNames.map((n) => `${n.protocol}/${n.port}`));
      const lines = mappings
        .filter((m) => families.has(m.family) && !taken.has(`${m.protocol}/${m.port}`))
        .map(
          (m) =>
            `${m.port} ${m.protocol} ${m.family === 4 ? m.v4 : m.v6}${m.remote === undefined ? '' : ` ${m.remote}`}`,
        );
      lines.push(
        ...legacyNames.map(
          (n) => `${n.port} ${n.protocol} ${n.name}${n.remote === undefined ? '' : ` ${n.remote}`}`,
        ),
      );
      const fallbacks =
        mode === 'legacy' && nameFallback !== undefined
          ? [nameFallback]
          : [families.has(4) ? fallback4 : undefined, families.has(6) ? fallback6 : undefined].filter(
              (f): f is string => f !== undefined,
            );
      if (fallback6First) fallbacks.reverse();
      lines.push(...fallbacks);
      const source = {
        '4': '192.0.2.99/24',
        '6': '2001:db8:12::99/64',
        '46': '192.0.2.99/24,2001:db8:12::99/64',
      };
      const gateway = { '4': '192.0.2.1', '6': 'fe80::1', '46': '192.0.2.1,fe80::1' };
      return {
        EGRESS_SOURCE: source[layout],
        EGRESS_GATEWAY: gateway[layout],
        EGRESS_ROUTER_MODE: mode,
        // An empty list is "unspecified": give it a comment so the environment stays valid.
        EGRESS_DESTINATION: lines.length > 0 ? lines.join('\n') : '# nothing mapped',
        ...(interfaces && {
          EGRESS_ROUTER_POD_INTERFACE: interfaces[0],
          EGRESS_ROUTER_EGRESS_INTERFACE: interfaces[1],
        }),
      };
    },
  );

/** A valid environment with one near-valid line inserted anywhere: often just broken. */
const nearlyValidRouterEnv: fc.Arbitrary<RouterEnv> = fc
  .tuple(validRouterEnv, LINE, fc.nat())
  .map(([env, line, at]) => {
    const lines = (env.EGRESS_DESTINATION ?? '').split('\n');
    lines.splice(at % (lines.length + 1), 0, line);
    return { ...env, EGRESS_DESTINATION: lines.join('\n') };
  });

/** A whole router environment: valid, one line off valid, or any source, gateway, mode and text. */
export const routerEnv: fc.Arbitrary<RouterEnv> = fc.oneof(
  { weight: 2, arbitrary: validRouterEnv },
  { weight: 2, arbitrary: nearlyValidRouterEnv },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        SOURCE_AND_GATEWAY,
        fc.constantFrom(
          undefined,
          '',
          'legacy',
          'init',
          'unit-test',
          'unit-test',
          'http-proxy',
          'dns-proxy',
          'bogus',
        ),
        fc.oneof({ weight: 4, arbitrary: nearValidListText }, { weight: 1, arbitrary: anyText }),
      )
      .map(([addresses, mode, list]) => ({
        ...addresses,
        EGRESS_ROUTER_MODE: mode,
        EGRESS_DESTINATION: list,
      })),
  },
);
