// 效能督查: the district ranking (bar, the pass line marked) and the comparison between periods.
(function () {
  "use strict";
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-eff-ranking-url]").forEach(function (el) {
    fetch(el.dataset.effRankingUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var chart = window.echarts.init(el);
      chart.setOption({
        tooltip: { trigger: "axis" }, grid: { left: 80, right: 30, top: 20, bottom: 30 },
        xAxis: { type: "value", max: 100 }, yAxis: { type: "category", inverse: true, data: d.names },
        series: [{ type: "bar", data: d.totals.map(function (v) {
          return { value: v, itemStyle: { color: v >= d.pass_score ? "#3aa76d" : "#c94b4b" } };
        }), label: { show: true, position: "right" },
          markLine: { symbol: "none", data: [{ xAxis: d.pass_score, name: "达标线" }], label: { formatter: "达标线 {c}" } } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  });
  document.querySelectorAll("[data-eff-compare]").forEach(function (el) {
    var d = JSON.parse(el.dataset.effCompare);
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { data: d.periods }, grid: { left: 40, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: d.rows.map(function (r) { return r.org; }), axisLabel: { rotate: 30 } },
      yAxis: { type: "value", max: 100 },
      series: d.periods.map(function (p) {
        return { name: p, type: "bar", data: d.rows.map(function (r) { return r.totals[p] === undefined ? null : r.totals[p]; }) };
      })
    });
  });
})();
