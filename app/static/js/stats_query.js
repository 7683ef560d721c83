// 监督统计分析: the trend of the chosen measures with 同比/环比 lines, and the chart exported as PNG
// (ECharts' own getDataURL, no server round trip).
(function () {
  "use strict";
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-query-series]").forEach(function (el) {
    var series = JSON.parse(el.dataset.querySeries), measures = JSON.parse(el.dataset.queryMeasures);
    var chart = window.echarts.init(el);
    var lines = [];
    measures.forEach(function (m, i) {
      lines.push({ name: m.label, type: i === 0 ? "bar" : "line", yAxisIndex: 0,
        data: series.map(function (e) { return e[m.code]; }) });
    });
    var first = measures[0];
    lines.push({ name: "同比(%)", type: "line", yAxisIndex: 1, lineStyle: { type: "dashed" },
      data: series.map(function (e) { return e[first.code + "_yoy"]; }) });
    lines.push({ name: "环比(%)", type: "line", yAxisIndex: 1, lineStyle: { type: "dotted" },
      data: series.map(function (e) { return e[first.code + "_mom"]; }) });
    chart.setOption({
      backgroundColor: "#fff", tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 50, top: 40, bottom: 40 },
      xAxis: { type: "category", data: series.map(function (e) { return e.bucket; }) },
      yAxis: [{ type: "value" }, { type: "value", axisLabel: { formatter: "{value}%" } }],
      series: lines
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.ducharChart = chart;
  });
  document.querySelectorAll("[data-chart-png]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.querySelector(btn.dataset.chartPng);
      if (!el || !el.ducharChart) { return; }
      var a = document.createElement("a");
      a.href = el.ducharChart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
      a.download = "监督统计.png";
      document.body.appendChild(a); a.click(); a.remove();
    });
  });
})();
