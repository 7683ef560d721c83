// 督查业务统计大屏 and 专题展示: fetch the figures and redraw every `data-refresh` seconds, no page reload.
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.screenUrl || !window.echarts) { return; }
  var text = { color: "#e8f1ff", fontSize: 20 };
  var charts = {};
  function chart(name) {
    var el = document.querySelector('[data-panel="' + name + '"]');
    if (!el) { return null; }
    if (!charts[name]) { charts[name] = window.echarts.init(el, null, { renderer: "canvas" }); }
    return charts[name];
  }
  function bars(c, names, values, color) {
    c.setOption({
      textStyle: text, grid: { left: 110, right: 60, top: 10, bottom: 20 }, tooltip: {},
      xAxis: { type: "value", axisLabel: text, splitLine: { lineStyle: { color: "#1f3f66" } } },
      yAxis: { type: "category", inverse: true, data: names, axisLabel: text },
      series: [{ type: "bar", data: values, itemStyle: { color: color }, label: { show: true, position: "right", color: "#fff", fontSize: 20 } }]
    });
  }
  function pie(c, data) {
    c.setOption({ textStyle: text, tooltip: {}, series: [{ type: "pie", radius: ["35%", "65%"], data: data,
      label: { color: "#fff", fontSize: 20, formatter: "{b}\n{c}" } }] });
  }
  var geo = null; // district code -> map name, once the Shanghai map is registered
  if (body.dataset.geoUrl) {
    fetch(body.dataset.geoUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (g) {
      g.UTF8Encoding = true; // the file keeps ECharts' compressed coordinates
      window.echarts.registerMap("shanghai", g);
      geo = {};
      g.features.forEach(function (f) { geo[f.id] = f.properties.name; });
      if (last) { draw(last); }
    }).catch(function () { geo = null; /* the ranked bar chart stays */ });
  }
  var last = null;
  function overdueMap(c, o) {
    var data = Object.keys(geo).map(function (code) {
      var i = o.codes.indexOf(code);
      return { name: geo[code], value: i < 0 ? 0 : o.values[i] };
    });
    var top = Math.max.apply(null, [1].concat(o.values));
    c.setOption({
      tooltip: { formatter: "{b}：{c} 件" },
      visualMap: { min: 0, max: top, left: 10, bottom: 10, text: ["多", "少"], textStyle: text, calculable: false,
        inRange: { color: ["#1d4a7a", "#ffd666", "#ff6b6b"] } },
      series: [{ type: "map", map: "shanghai", data: data, roam: false,
        label: { show: true, color: "#fff", fontSize: 14, formatter: function (p) { return p.value ? p.name + "\n" + p.value : ""; } },
        itemStyle: { borderColor: "#4fd1ff" } }]
    }, true);
    body.dataset.map = "shanghai";
  }
  function draw(d) {
    last = d;
    document.getElementById("screen-at").textContent = d.at;
    document.getElementById("screen-scope").textContent = d.scope;
    Object.keys(d.today).forEach(function (k) {
      var el = document.getElementById("kpi-" + k);
      if (el) { el.textContent = d.today[k]; }
    });
    var c;
    if ((c = chart("overdue"))) {
      if (geo) { overdueMap(c, d.overdue); } else { bars(c, d.overdue.names.slice(0, 10), d.overdue.values.slice(0, 10), "#ff6b6b"); }
    }
    if ((c = chart("ranking"))) {
      bars(c, d.ranking.names.slice(0, 10), d.ranking.values.slice(0, 10), "#4fd1ff");
      var p = document.getElementById("ranking-period");
      if (p) { p.textContent = d.ranking.period || ""; }
    }
    if ((c = chart("trend"))) {
      c.setOption({ textStyle: text, tooltip: { trigger: "axis" }, legend: { textStyle: text, top: 0 },
        grid: { left: 50, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: d.trend.days, axisLabel: text },
        yAxis: { type: "value", axisLabel: text, splitLine: { lineStyle: { color: "#1f3f66" } } },
        series: [{ name: "线索", type: "line", smooth: true, data: d.trend.clue, lineStyle: { width: 3 } },
          { name: "触发", type: "line", smooth: true, data: d.trend.trigger, lineStyle: { width: 3 } },
          { name: "检查", type: "bar", data: d.trend.inspection }] });
    }
    if ((c = chart("sources"))) { pie(c, d.sources); }
    if ((c = chart("violations"))) { pie(c, d.violations); }
    body.dataset.loaded = String(Number(body.dataset.loaded || 0) + 1);
  }
  function load() {
    fetch(body.dataset.screenUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(draw)
      .catch(function (e) { console.warn("大屏数据刷新失败", e); /* keep the last figures; retry next round */ });
  }
  load();
  setInterval(load, 1000 * Number(body.dataset.refresh || 30));
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
})();
