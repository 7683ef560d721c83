// Read-only diagrams (bpmn-js navigated viewer) for the inbox and the admin pages: fitted to the width
// with a readable minimum scale, zoom and pan controls, a minimap, steps marked done/current/failed,
// flows taken, system steps (script, service, business rule tasks) de-emphasised, heatmap overlays.
//   <div data-bpmn-viewer data-bpmn-url="..." data-markers='{"done":[],"current":[],"failed":[],"flows":[]}'
//        data-heat='{"step": {"passed": 3, "avg_label": "2.0 小时", "waiting": 1, "failed": 0}}'>
//   <div data-diagram-url="...">   (JSON: {xml, done, current, failed, flows})
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import MinimapModule from "diagram-js-minimap";

import translateModule from "../i18n/translate.js";
import { fitBeside } from "./fit.js";
import * as importMessages from "./import-messages.js";

const CLASSES = { done: "ducha-done", current: "ducha-current", failed: "ducha-failed", flows: "ducha-flow" };
const SYSTEM = ["bpmn:ScriptTask", "bpmn:ServiceTask", "bpmn:BusinessRuleTask", "bpmn:SendTask"];

export function applyMarkers(container, marks) {
  const viewer = container.duchaViewer;
  if (!viewer || !marks) return;
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  (container.duchaMarked || []).forEach(([id, cls]) => { if (registry.get(id)) canvas.removeMarker(id, cls); });
  container.duchaMarked = [];
  Object.keys(CLASSES).forEach((key) => {
    (marks[key] || []).forEach((id) => {
      if (registry.get(id)) {
        canvas.addMarker(id, CLASSES[key]);
        container.duchaMarked.push([id, CLASSES[key]]);
      }
    });
  });
  container.setAttribute("data-marked", container.duchaMarked.map(([id, cls]) => `${id}:${cls}`).join(" "));
}

function applyHeat(container, stats) {
  const viewer = container.duchaViewer;
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const overlays = viewer.get("overlays");
  let max = 0;
  Object.values(stats).forEach((s) => { max = Math.max(max, s.passed + s.waiting); });
  const shown = [];
  Object.keys(stats).forEach((id) => {
    if (!registry.get(id)) return;
    const s = stats[id];
    const level = max ? Math.max(1, Math.ceil((4 * (s.passed + s.waiting)) / max)) : 0;
    if (level) canvas.addMarker(id, `heat-${level}`);
    const badge = document.createElement("div");
    badge.className = "heat-badge";
    badge.setAttribute("data-step", id);
    badge.appendChild(document.createTextNode(`经过 ${s.passed} · 平均 ${s.avg_label || "—"}`));
    if (s.waiting) {
      const w = document.createElement("span");
      w.className = "waiting";
      w.textContent = ` · 等待 ${s.waiting}`;
      badge.appendChild(w);
    }
    if (s.failed) {
      const f = document.createElement("span");
      f.className = "failed";
      f.textContent = ` · 失败 ${s.failed}`;
      badge.appendChild(f);
    }
    overlays.add(id, "heat", { position: { top: -24, left: 0 }, html: badge });
    shown.push(id);
  });
  container.setAttribute("data-heat-shown", shown.join(" "));
}

function button(icon, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "btn btn-light btn-sm border";
  b.title = label;
  b.setAttribute("aria-label", label);
  b.innerHTML = `<i class="bi ${icon}"></i>`;
  b.addEventListener("click", onClick);
  return b;
}

function controls(container, viewer) {
  const canvas = viewer.get("canvas");
  const bar = document.createElement("div");
  bar.className = "diagram-controls btn-group-vertical";
  const zoomBy = (factor) => {
    const z = canvas.zoom() * factor;
    canvas.zoom(Math.min(4, Math.max(0.2, z)), "auto");
    container.setAttribute("data-scale", canvas.zoom().toFixed(2));
  };
  bar.appendChild(button("bi-zoom-in", "放大", () => zoomBy(1.25)));
  bar.appendChild(button("bi-zoom-out", "缩小", () => zoomBy(0.8)));
  bar.appendChild(button("bi-arrows-expand-vertical", "适应宽度", () => fit(container, viewer)));
  bar.appendChild(button("bi-fullscreen", "显示全图", () => { canvas.zoom("fit-viewport"); container.setAttribute("data-scale", canvas.zoom().toFixed(2)); }));
  bar.appendChild(button("bi-map", "缩略图", () => viewer.get("minimap").toggle()));
  container.appendChild(bar);
}

function fit(container, viewer) {
  const scale = fitBeside(viewer.get("canvas"), 0, 0.6, { height: false });
  container.setAttribute("data-scale", scale.toFixed(2));
}

function deEmphasise(viewer) {
  const canvas = viewer.get("canvas");
  viewer.get("elementRegistry").filter((e) => SYSTEM.includes(e.type)).forEach((e) => canvas.addMarker(e.id, "ducha-system"));
}

function show(container, load) {
  container.classList.add("ducha-diagram");
  const viewer = new NavigatedViewer({ container, additionalModules: [translateModule, MinimapModule] });
  container.duchaViewer = viewer;
  return load().then(({ xml, marks, heat }) => viewer.importXML(xml).then(() => ({ marks, heat }))).then(({ marks, heat }) => {
    const defs = viewer.getDefinitions();
    if (!defs || !defs.diagrams || !defs.diagrams.length) {
      container.textContent = "此流程图没有图形布局（BPMNDI），无法显示";
      container.setAttribute("data-import", "no-di");
      return;
    }
    if (importMessages.isBlank(viewer)) {
      container.textContent = importMessages.BLANK;
      container.setAttribute("data-import", "blank");
      return;
    }
    deEmphasise(viewer);
    fit(container, viewer);
    controls(container, viewer);
    if (marks) applyMarkers(container, marks);
    if (heat) applyHeat(container, heat);
    container.setAttribute("data-import", "ok");
    // mobile.js adds two-finger zoom on phones.
    container.dispatchEvent(new CustomEvent("diagram:ready", { bubbles: true, detail: { viewer } }));
  }).catch((err) => {
    container.setAttribute("data-import", "error");
    container.textContent = `流程图无法显示：${importMessages.describe(err.message)}`;
  });
}

function fetchText(url) {
  return fetch(url, { credentials: "same-origin" }).then((resp) => {
    if (!resp.ok) throw new Error("流程图无法读取");
    return resp.text();
  });
}

document.querySelectorAll("[data-bpmn-viewer]").forEach((container) => show(container, () => fetchText(container.getAttribute("data-bpmn-url")).then((xml) => ({
  xml,
  marks: container.getAttribute("data-markers") ? JSON.parse(container.getAttribute("data-markers")) : null,
  heat: container.getAttribute("data-heat") ? JSON.parse(container.getAttribute("data-heat")) : null,
}))));

document.querySelectorAll("[data-diagram-url]").forEach((container) => show(container, () => fetch(container.dataset.diagramUrl, { credentials: "same-origin" })
  .then((r) => r.json())
  .then((d) => ({ xml: d.xml, marks: { done: d.done, current: d.current, failed: d.failed, flows: d.flows || [] } }))));

window.DuchaViewer = { applyMarkers };
