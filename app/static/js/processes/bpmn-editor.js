// The BPMN editor page: bpmn-js modeler + side panel + validation markers (canvas.addMarker).
(function () {
  "use strict";
  var container = document.getElementById("canvas");
  if (!container || !window.BpmnJS) { return; }

  var modeler = new window.BpmnJS({
    container: container,
    moddleExtensions: { spiffworkflow: window.DuchaSpiffModdle }
  });
  var canvas = modeler.get("canvas");
  var registry = modeler.get("elementRegistry");
  var marked = [];
  var shell;

  function highlight(problems) {
    marked.forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
    marked = [];
    problems.forEach(function (p) {
      if (p.file !== shell.config.file || !p.element_id || !registry.get(p.element_id)) { return; }
      var cls = p.severity === "error" ? "ducha-error" : "ducha-warning";
      canvas.addMarker(p.element_id, cls);
      marked.push([p.element_id, cls]);
    });
    container.setAttribute("data-highlighted", marked.map(function (m) { return m[0]; }).join(" "));
  }

  function selectProblem(p) {
    var element = p.element_id && registry.get(p.element_id);
    if (!element) { return; }
    modeler.get("selection").select(element);
    if (canvas.scrollToElement) { canvas.scrollToElement(element); }
  }

  shell = new window.DuchaEditor.Shell({
    getText: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
    highlight: highlight,
    selectProblem: selectProblem
  });

  var panel = new window.DuchaSidePanel(modeler, document.getElementById("side-panel"), shell.config);
  var loading = true;
  modeler.on("commandStack.changed", function () { if (!loading) { shell.changed(); } });

  function pickDiagrams() {
    var defs = modeler.getDefinitions();
    var diagrams = (defs && defs.diagrams) || [];
    var wrap = document.getElementById("diagram-picker-wrap");
    var picker = document.getElementById("diagram-picker");
    if (diagrams.length < 2 || !picker) { return; }
    diagrams.forEach(function (d, i) {
      picker.appendChild(window.DuchaEditor.el("option", { value: String(i) }, d.name || d.id));
    });
    wrap.classList.remove("d-none");
    picker.addEventListener("change", function () {
      modeler.open(diagrams[Number(picker.value)]).then(function () { canvas.zoom("fit-viewport"); panel.show(null); });
    });
  }

  window.DuchaEditor.request(shell.config.urls.load).then(function (resp) {
    if (!resp.ok) { throw new Error("文件无法读取"); }
    return modeler.importXML(resp.data);
  }).then(function (result) {
    loading = false;
    var defs = modeler.getDefinitions();
    if (!defs || !defs.diagrams || !defs.diagrams.length) {
      shell.show("warning", "此文件没有图形布局（BPMNDI），流程图无法显示；仍可校验和部署，或重新上传以自动排布。");
      container.setAttribute("data-import", "no-di");
      return;
    }
    canvas.zoom("fit-viewport");
    pickDiagrams();
    panel.show(null);
    container.setAttribute("data-import", "ok");
    if (result.warnings && result.warnings.length) {
      shell.setStatus("导入时有 " + result.warnings.length + " 条提示（其他工具的扩展或无法识别的内容，保存时可能不保留）");
    }
  }).catch(function (err) {
    loading = false;
    container.setAttribute("data-import", "error");
    shell.show("danger", "流程图无法显示：" + err.message);
  });
})();
