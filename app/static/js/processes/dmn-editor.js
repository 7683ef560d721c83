// The DMN editor page: dmn-js modeler in Chinese (decision table view), saved as a draft, validated with
// the workspace. Bundled by scripts/build.mjs (entries/dmn.js).
import DmnModeler from "dmn-js/lib/Modeler";

import translateModule from "../i18n/translate.js";
import { Shell, request } from "./editor-common.js";

(function () {
  var container = document.getElementById("dmn-canvas");
  if (!container) { return; }
  var modeler = new DmnModeler({ container: container, common: { additionalModules: [translateModule] } });
  var loading = true;
  var shell = new Shell({
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

  request(shell.config.urls.file).then(function (resp) {
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
