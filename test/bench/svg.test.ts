import { escapeXml, lineChart, linearTicks, logTicks, tickLabel } from '../../bench/svg';
import { parseOptions } from '../../bench/options';

/** The bench's chart writer (docs/bench/*.svg): what a reader of the README sees in the figures. */

const numbers = (svg: string, tag: string, attribute: string) => [...svg.matchAll(new RegExp(`<${tag} [^>]*${attribute}="([-\\d.]+)"`, 'g'))].map((m) => Number(m[1]));

describe('bench/svg.ts', () => {
  it('picks round ticks: 1, 2 or 5 times a power of ten on a linear axis, powers of ten on a log one', () => {
    expect(linearTicks(0, 2300)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect(linearTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(logTicks(1, 10_000)).toEqual([1, 10, 100, 1000, 10_000]);
    expect(logTicks(3, 450)).toEqual([1, 10, 100, 1000]);
    expect(tickLabel(10_000)).toBe('10,000');
    expect(tickLabel(100_000)).toBe('100k');
    expect(tickLabel(0.25)).toBe('0.25');
  });

  it('draws every usable point of every series, left to right in x, with a legend entry per series', () => {
    const svg = lineChart({
      title: 'acked scans/s <by directories>',
      xLabel: 'directories',
      yLabel: 'scans/s',
      xLog: true,
      series: [
        {
          name: 'MariaDB & co',
          points: [
            [1, 2000],
            [10, 1990],
            [100, 1980],
            [1000, 1900],
            [10_000, NaN],
          ],
        },
        {
          name: 'embedded',
          points: [
            [1, 2000],
            [10, 2000],
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // The NaN point is left out: 4 + 2 dots.
    expect(numbers(svg, 'circle', 'cx')).toHaveLength(6);
    const firstSeries = numbers(svg, 'circle', 'cx').slice(0, 4);
    expect([...firstSeries].sort((a, b) => a - b)).toEqual(firstSeries);
    // Evenly spaced on the log axis: 1 → 10 is as wide as 10 → 100.
    expect(firstSeries[1] - firstSeries[0]).toBeCloseTo(firstSeries[2] - firstSeries[1], 0);
    for (const label of ['1', '10', '100', '1,000', '10,000']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain('>MariaDB &amp; co</text>');
    expect(svg).toContain('>embedded</text>');
    expect(svg).toContain('acked scans/s &lt;by directories&gt;');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('puts a higher value higher on the page (SVG y grows downwards)', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's',
          points: [
            [0, 1],
            [1, 100],
          ],
        },
      ],
    });
    const [low, high] = numbers(svg, 'circle', 'cy');
    expect(high).toBeLessThan(low);
  });

  it('escapes what XML reserves', () => {
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });
});

describe('bench/options.ts', () => {
  it('runs the new sections by name, and every section without --sections', () => {
    expect(parseOptions(['--sections=socketio,curves'], {}).sections).toEqual(['socketio', 'curves']);
    expect(parseOptions([], {}).sections).toEqual(expect.arrayContaining(['closed', 'socketio', 'curves', 'snapshot', 'bus', 'webhooks']));
    expect(parseOptions(['--quick', '--curve-directories=1,10'], {}).curveDirectories).toEqual([1, 10]);
    expect(() => parseOptions(['--sections=nope'], {})).toThrow('not one of');
  });
});
