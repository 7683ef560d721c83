// Clue statistics page: one ECharts chart per [data-chart] element, data from the JSON endpoint.
(function () {
  "use strict";
  var root = document.getElementById("clue-stats");
  if (!root || !window.echarts) { return; }

  function option(type, rows) {
    if (type === "pie") {
      return {
        tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
        legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], data: rows.map(function (r) { return { name: r.name, value: r.value }; }) }]
      };
    }
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 16, bottom: 48 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.name; }), axisLabel: { rotate: type === "bar" ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: type, smooth: true, data: rows.map(function (r) { return r.value; }) }]
    };
  }

  fetch(root.dataset.url, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var total = document.getElementById("stats-total");
      if (total) { total.textContent = "共 " + data.total + " 条"; }
      root.querySelectorAll("[data-chart]").forEach(function (el) {
        var chart = window.echarts.init(el);
        chart.setOption(option(el.dataset.type, data[el.dataset.chart] || []));
        window.addEventListener("resize", function () { chart.resize(); });
      });
    });
})();
