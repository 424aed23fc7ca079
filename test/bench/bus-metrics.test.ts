import { metricTotal } from '../../bench/bus';

/** The bus section reads each instance's received-messages counter from its /metrics text. */
describe('bench/bus.ts metricTotal', () => {
  it('adds the counter over its label sets, and ignores its help, its type and other counters', () => {
    const text = [
      '# HELP scancode_bus_messages_received_total Bus messages received',
      '# TYPE scancode_bus_messages_received_total counter',
      'scancode_bus_messages_received_total{kind="change"} 120',
      'scancode_bus_messages_received_total{kind="user"} 3',
      'scancode_bus_messages_received_total_extra 99',
      'scancode_bus_dropped_messages_total 7',
    ].join('\n');
    expect(metricTotal(text, 'scancode_bus_messages_received_total')).toBe(123);
    expect(metricTotal('scancode_bus_messages_received_total 5\n', 'scancode_bus_messages_received_total')).toBe(5);
  });

  it('says null when the server has no such counter (printed as n/a)', () => {
    expect(metricTotal('scancode_ws_open_sockets 3\n', 'scancode_bus_messages_received_total')).toBeNull();
  });
});
