import { absolutePath, durationMillis, hostname, qualifiedName, re2Regex } from '../../src/api/formats';

describe('formats', () => {
  it.each([
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
    ['1.5s', undefined],
    ['100000s', undefined],
    ['1h2m3s4ms5ms', undefined],
  ])('durationMillis(%s) = %s', (v, want) => expect(durationMillis(v)).toBe(want));

  it.each([
    ['example.com', true],
    ['*.example.com', true],
    ['Example.com', false],
    ['a.*.com', false],
    ['10.0.0.1', false],
    ['::1', false],
  ])('hostname(%s) ok=%s', (v, ok) => expect(hostname(v) === undefined).toBe(ok));

  it.each([
    ['/v1/chat', true],
    ['/', true],
    ['/a%20b', true],
    ['v1', false],
    ['/a//b', false],
    ['/a/../b', false],
    ['/a%2Fb', false],
    ['/a#b', false],
  ])('absolutePath(%s) ok=%s', (v, ok) => expect(absolutePath(v) === undefined).toBe(ok));

  it.each([
    ['/v1/.*', true],
    ['(?i)/V1', true],
    ['(?P<ver>v[0-9])', true],
    ['/(?=x)', false],
    ['/(?<!x)y', false],
    ['(a)\\1', false],
    ['/(unclosed', false],
  ])('re2Regex(%s) ok=%s', (v, ok) => expect(re2Regex(v) === undefined).toBe(ok));

  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['kubernetes.io/service-name', true],
    ['-app', false],
    ['Example.com/app', false],
    ['a/b/c', false],
  ])('qualifiedName(%s) ok=%s', (v, ok) => expect(qualifiedName(v) === undefined).toBe(ok));
});
