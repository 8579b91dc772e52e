import { expandMacros, grafanaSql, interpolateVariables, type VariableValue } from '../../support/grafana.js';

const range = { from: 1_751_328_000, to: 1_754_006_400, intervalSeconds: 3_600 };
const vars = new Map<string, VariableValue>([
  ['grain', { values: ['month'], all: false, multi: false }],
  ['region', { values: ['R01', 'R02'], all: true, multi: true }],
  ['store', { values: ['S001'], all: false, multi: true }],
  ['unit', { values: ["O'Brien"], all: false, multi: false }],
]);

describe('Grafana interpolation and the ClickHouse plugin macros, as the dashboards tests apply them', () => {
  it('quotes with :sqlstring, doubling quotes; pastes a single value raw; lists a multi-value quoted', () => {
    expect(interpolateVariables('a = ${unit:sqlstring} AND g = $grain AND s IN (${store})', vars)).toBe("a = 'O''Brien' AND g = month AND s IN ('S001')");
  });

  it('drops a condition on All, keeps it otherwise', () => {
    expect(interpolateVariables('x AND $__conditionalAll(parent IN (${region:sqlstring}), $region)', vars)).toBe('x AND 1=1');
    expect(interpolateVariables("$__conditionalAll(unit IN (${store:sqlstring}), $store) AND f(1, ')')", vars)).toBe("unit IN ('S001') AND f(1, ')')");
  });

  it('expands the time macros with the range in Unix seconds', () => {
    expect(expandMacros('WHERE $__timeFilter(period_start) AND t < $__toTime', range)).toBe(
      'WHERE period_start >= toDateTime(1751328000) AND period_start <= toDateTime(1754006400) AND t < toDateTime(1754006400)',
    );
    expect(expandMacros('SELECT $__timeInterval(at) AS t, $__fromTime', range)).toBe('SELECT toStartOfInterval(toDateTime(at), INTERVAL 3600 second) AS t, toDateTime(1751328000)');
  });

  it('refuses what the dashboards must not use, and variables they do not define', () => {
    expect(() => expandMacros('SELECT $__timeGroup(t, 1h)', range)).toThrow(/not used/);
    expect(() => grafanaSql('SELECT $nope', vars, range)).toThrow(/does not define/);
  });
});
