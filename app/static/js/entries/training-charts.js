// 技能拉练统计: ECharts and the page script that draws from data- attributes.
import "../lib/globals-echarts.js";
import "../training_stats.js";
