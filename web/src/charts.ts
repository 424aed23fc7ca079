/**
 * ECharts, only what the charts page draws (line and bar charts on a canvas): the tree-shaken core
 * instead of the whole library, loaded with the charts page only.
 */
import { BarChart, LineChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, CanvasRenderer]);

export { echarts };
export type { EChartsType } from 'echarts/core';
