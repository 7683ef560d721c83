// Pages with charts (统计分析, 线索统计, 技能拉练统计): ECharts and the page scripts that draw from data- attributes.
import "../lib/globals-echarts.js";
import "../stats.js";
import "../clues_stats.js";
import "../efficiency.js";
import "../stats_query.js";
import "../bigscreen.js";
import "../training_stats.js";
import "../soe.js";
import "../appraisal.js";
