// The BPMN editor page: bpmn-js modeler in Chinese, the properties panel with the Ducha provider,
// a minimap, and validation markers (canvas.addMarker). Bundled by scripts/build.mjs (entries/modeler.js).
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import MinimapModule from "diagram-js-minimap";

import translateModule from "../i18n/translate.js";
import { Shell, el, request } from "./editor-common.js";
import { fitBeside } from "./fit.js";
import * as importMessages from "./import-messages.js";
import DuchaPropertiesModule from "./properties/index.js";
import spiffModdle from "./spiff-moddle.js";

const OPEN_GROUPS = ["general", "ducha-assignee", "ducha-form", "ducha-approval", "ducha-deadline", "ducha-lane", "ducha-condition",
  "ducha-script", "ducha-decision", "ducha-service", "ducha-call", "ducha-process", "timer", "message", "signal", "multiInstance"];
const container = document.getElementById("canvas");
if (container) start();

function start() {
  let shell = null;
  const root = document.getElementById("process-editor");
  const config = JSON.parse(root.getAttribute("data-config"));
  const modeler = new BpmnModeler({
    container,
    propertiesPanel: {
      parent: "#side-panel",
      layout: { groups: Object.fromEntries(OPEN_GROUPS.map((id) => [id, { open: true }])) },
    },
    additionalModules: [translateModule, BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, DuchaPropertiesModule, MinimapModule],
    moddleExtensions: { spiffworkflow: spiffModdle },
    ducha: config,
  });
  window.duchaModeler = modeler; // for the browser tests and the console
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  let marked = [];

  function highlight(problems) {
    marked.forEach(([id, cls]) => { if (registry.get(id)) canvas.removeMarker(id, cls); });
    marked = [];
    problems.forEach((p) => {
      if (p.file !== shell.config.file || !p.element_id || !registry.get(p.element_id)) return;
      const cls = p.severity === "error" ? "ducha-error" : "ducha-warning";
      canvas.addMarker(p.element_id, cls);
      marked.push([p.element_id, cls]);
    });
    container.setAttribute("data-highlighted", marked.map((m) => m[0]).join(" "));
  }

  function selectProblem(p) {
    const element = p.element_id && registry.get(p.element_id);
    if (!element) return;
    modeler.get("selection").select(element);
    if (canvas.scrollToElement) canvas.scrollToElement(element);
  }

  shell = new Shell({
    getText: () => modeler.saveXML({ format: true }).then((r) => r.xml),
    highlight,
    selectProblem,
  });

  let loading = true;
  modeler.on("commandStack.changed", () => { if (!loading) shell.changed(); });
  modeler.on("selection.changed", (evt) => {
    const one = evt.newSelection.length === 1 ? evt.newSelection[0] : null;
    document.getElementById("side-panel").setAttribute("data-element-id", one ? one.id : "");
  });

  function fit() {
    const palette = container.querySelector(".djs-palette");
    fitBeside(canvas, palette ? palette.getBoundingClientRect().width + 16 : 0);
  }

  function pickDiagrams() {
    const defs = modeler.getDefinitions();
    const diagrams = (defs && defs.diagrams) || [];
    const wrap = document.getElementById("diagram-picker-wrap");
    const picker = document.getElementById("diagram-picker");
    if (diagrams.length < 2 || !picker) return;
    diagrams.forEach((d, i) => picker.appendChild(el("option", { value: String(i) }, d.name || d.id)));
    wrap.classList.remove("d-none");
    picker.addEventListener("change", () => modeler.open(diagrams[Number(picker.value)]).then(fit));
  }

  request(config.urls.load).then((resp) => {
    if (!resp.ok) throw new Error("文件无法读取");
    return modeler.importXML(resp.data);
  }).then((result) => {
    loading = false;
    const defs = modeler.getDefinitions();
    if (!defs || !defs.diagrams || !defs.diagrams.length) {
      shell.show("warning", "此文件没有图形布局（BPMNDI），流程图无法显示；仍可校验和部署，或重新上传以自动排布。");
      container.setAttribute("data-import", "no-di");
      return;
    }
    fit();
    pickDiagrams();
    reportImport(result);
  }).catch((err) => {
    loading = false;
    container.setAttribute("data-import", "error");
    shell.show("danger", `流程图无法显示：${importMessages.describe(err.message)}`);
  });

  // Import warnings in Chinese; a canvas with nothing drawn is a failure, not "ok".
  function reportImport(result) {
    const notes = importMessages.warnings(result);
    container.setAttribute("data-import-warnings", String(notes.length));
    if (importMessages.isBlank(modeler)) {
      container.setAttribute("data-import", "blank");
      shell.show("warning", importMessages.BLANK);
      return;
    }
    container.setAttribute("data-import", "ok");
    if (notes.length) {
      shell.setStatus(`导入时有 ${notes.length} 条提示（保存时可能不保留）`);
      shell.show("warning", `导入提示：${notes.slice(0, 3).join("；")}${notes.length > 3 ? `；等 ${notes.length} 条` : ""}`);
    }
  }
}
