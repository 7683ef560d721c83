// 技能拉练统计: participation and average score by district (ECharts), data from data-training-stats-url.
(function () {
  "use strict";
  document.querySelectorAll("[data-training-stats-url]").forEach(function (el) {
    if (!window.echarts) { return; }
    fetch(el.dataset.trainingStatsUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var chart = window.echarts.init(el);
      chart.setOption({
        tooltip: { trigger: "axis" }, legend: { data: ["参与人数", "平均得分率（%）"] },
        grid: { left: 40, right: 50, top: 40, bottom: 60 },
        xAxis: { type: "category", data: d.districts, axisLabel: { rotate: 30 } },
        yAxis: [{ type: "value", name: "人数", minInterval: 1 }, { type: "value", name: "%", max: 100 }],
        series: [
          { name: "参与人数", type: "bar", data: d.people },
          { name: "平均得分率（%）", type: "line", yAxisIndex: 1, data: d.average }
        ]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  });
})();
