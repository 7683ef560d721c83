// Read-only diagrams (bpmn-js navigated viewer): instance state markers, heatmap overlays, dry-run path.
// <div data-bpmn-viewer data-bpmn-url="..." data-markers='{"done":[],"current":[],"failed":[],"flows":[]}'
//      data-heat='{"step": {"passed": 3, "avg_label": "2.0 小时", "waiting": 1, "failed": 0}}'>
(function () {
  "use strict";
  var CLASSES = { done: "ducha-done", current: "ducha-current", failed: "ducha-failed", flows: "ducha-flow" };

  function applyMarkers(container, marks) {
    var viewer = container.duchaViewer;
    if (!viewer || !marks) { return; }
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    (container.duchaMarked || []).forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
    container.duchaMarked = [];
    Object.keys(CLASSES).forEach(function (key) {
      (marks[key] || []).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, CLASSES[key]);
          container.duchaMarked.push([id, CLASSES[key]]);
        }
      });
    });
    container.setAttribute("data-marked", container.duchaMarked.map(function (m) { return m[0] + ":" + m[1]; }).join(" "));
  }

  function applyHeat(container, stats) {
    var viewer = container.duchaViewer;
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    var max = 0;
    Object.keys(stats).forEach(function (k) { max = Math.max(max, stats[k].passed + stats[k].waiting); });
    var shown = [];
    Object.keys(stats).forEach(function (id) {
      if (!registry.get(id)) { return; }
      var s = stats[id];
      var level = max ? Math.max(1, Math.ceil(4 * (s.passed + s.waiting) / max)) : 0;
      if (level) { canvas.addMarker(id, "heat-" + level); }
      var badge = document.createElement("div");
      badge.className = "heat-badge";
      badge.setAttribute("data-step", id);
      badge.appendChild(document.createTextNode("经过 " + s.passed + " · 平均 " + (s.avg_label || "—")));
      if (s.waiting) {
        var w = document.createElement("span");
        w.className = "waiting";
        w.textContent = " · 等待 " + s.waiting;
        badge.appendChild(w);
      }
      if (s.failed) {
        var f = document.createElement("span");
        f.className = "failed";
        f.textContent = " · 失败 " + s.failed;
        badge.appendChild(f);
      }
      overlays.add(id, "heat", { position: { top: -24, left: 0 }, html: badge });
      shown.push(id);
    });
    container.setAttribute("data-heat-shown", shown.join(" "));
  }

  function init(container) {
    if (!window.BpmnJS) { return; }
    var viewer = new window.BpmnJS({ container: container });
    container.duchaViewer = viewer;
    fetch(container.getAttribute("data-bpmn-url"), { credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) { throw new Error("流程图无法读取"); }
      return resp.text();
    }).then(function (xml) {
      return viewer.importXML(xml);
    }).then(function () {
      var defs = viewer.getDefinitions();
      if (!defs || !defs.diagrams || !defs.diagrams.length) {
        container.textContent = "此流程图没有图形布局（BPMNDI），无法显示";
        container.setAttribute("data-import", "no-di");
        return;
      }
      viewer.get("canvas").zoom("fit-viewport");
      var marks = container.getAttribute("data-markers");
      if (marks) { applyMarkers(container, JSON.parse(marks)); }
      var heat = container.getAttribute("data-heat");
      if (heat) { applyHeat(container, JSON.parse(heat)); }
      container.setAttribute("data-import", "ok");
    }).catch(function (err) {
      container.setAttribute("data-import", "error");
      container.textContent = "流程图无法显示：" + err.message;
    });
  }

  window.DuchaViewer = { applyMarkers: applyMarkers };
  document.querySelectorAll("[data-bpmn-viewer]").forEach(init);
})();
