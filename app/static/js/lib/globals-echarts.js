import * as echarts from "echarts";

window.echarts = echarts;
