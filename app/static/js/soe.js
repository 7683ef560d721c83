// 国企监督: 典型隐患 / 典型违法行为 charts (a ranking bar and the share of each group), data from a data- attribute.
(function () {
  "use strict";
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-soe-typical]").forEach(function (el) {
    var d = JSON.parse(el.dataset.soeTypical);
    var chart = window.echarts.init(el);
    if (el.dataset.soePart === "groups") {
      chart.setOption({
        tooltip: { trigger: "item", formatter: "{b}：{c} 次（{d}%）" },
        series: [{ type: "pie", radius: ["35%", "65%"], data: d.groups, label: { formatter: "{b}\n{c} 次" } }]
      });
    } else {
      chart.setOption({
        tooltip: { trigger: "axis" }, grid: { left: 150, right: 40, top: 10, bottom: 30 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: d.items, axisLabel: { width: 140, overflow: "truncate" } },
        series: [{ type: "bar", data: d.counts, itemStyle: { color: "#c9743b" }, label: { show: true, position: "right" } }]
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
