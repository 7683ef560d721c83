// The DMN editor page: dmn-js modeler (decision table view), saved as a draft, validated with the workspace.
(function () {
  "use strict";
  var container = document.getElementById("dmn-canvas");
  if (!container || !window.DmnJS) { return; }
  var modeler = new window.DmnJS({ container: container });
  var loading = true;
  var shell = new window.DuchaEditor.Shell({
    getText: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
    highlight: function (problems) {
      container.setAttribute("data-highlighted", problems.filter(function (p) {
        return p.file === shell.config.file && p.element_id;
      }).map(function (p) { return p.element_id; }).join(" "));
    }
  });

  function watch(viewer) {
    if (!viewer || viewer.__duchaWatched) { return; }
    viewer.__duchaWatched = true;
    viewer.on("commandStack.changed", function () { if (!loading) { shell.changed(); } });
  }

  modeler.on("views.changed", function () { watch(modeler.getActiveViewer()); });

  window.DuchaEditor.request(shell.config.urls.file).then(function (resp) {
    if (!resp.ok) { throw new Error("文件无法读取"); }
    return modeler.importXML(resp.data);
  }).then(function () {
    var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return table ? modeler.open(table) : null;
  }).then(function () {
    loading = false;
    watch(modeler.getActiveViewer());
    container.setAttribute("data-import", "ok");
  }).catch(function (err) {
    loading = false;
    container.setAttribute("data-import", "error");
    shell.show("danger", "决策表无法显示：" + err.message);
  });
})();
