// 统计分析: the 12-month trend chart (ECharts), data from the page's data-trend-url.
(function () {
  "use strict";
  document.querySelectorAll("[data-trend-url]").forEach(function (el) {
    if (!window.echarts) { return; }
    fetch(el.dataset.trendUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var chart = window.echarts.init(el);
      chart.setOption({
        tooltip: { trigger: "axis" }, legend: { data: ["发起", "办结"] },
        grid: { left: 40, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: d.months }, yAxis: { type: "value", minInterval: 1 },
        series: [{ name: "发起", type: "bar", data: d.started }, { name: "办结", type: "line", data: d.completed }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  });
})();
