// 评议考核: a person's totals over the periods (line), with the grade lines at 90 / 75 / 60.
(function () {
  "use strict";
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-appraisal-trend]").forEach(function (el) {
    var d = JSON.parse(el.dataset.appraisalTrend);
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 40, right: 30, top: 20, bottom: 30 },
      xAxis: { type: "category", data: d.periods }, yAxis: { type: "value", min: 0, max: 100 },
      series: [{ type: "line", data: d.totals, label: { show: true }, connectNulls: true,
        markLine: { symbol: "none", lineStyle: { type: "dashed" }, data: [{ yAxis: 90, name: "优秀" }, { yAxis: 75, name: "合格" }, { yAxis: 60, name: "基本合格" }],
          label: { formatter: "{b}" } } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
