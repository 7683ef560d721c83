// Server actions: validate, save, deploy, show XML, open in the BPMN modeler.
import { S } from "./state.js";
import { card, renderCanvas } from "./canvas.js";
import { el, findNode, post, show } from "./util.js";
import { group } from "./controls.js";
import { renderPanel } from "./panel.js";
import { select } from "./model.js";

export function setProblems(list) {
  S.problems = {};
  S.problemList.textContent = "";
  (list || []).forEach(function (p) {
    var key = p.node_id || S.tree.start.id;
    (S.problems[key] = S.problems[key] || []).push(p);
    var item = el("li", { className: "list-group-item list-group-item-action py-1 small list-group-item-" + (p.severity === "error" ? "danger" : "warning"), role: "button", "data-problem-node": key });
    item.textContent = (p.severity === "error" ? "错误：" : "提示：") + p.message + (p.element_id && p.element_id !== p.node_id ? "（" + p.element_id + "）" : "");
    item.addEventListener("click", function () {
      var found = findNode(key);
      select(found && found.branch ? "branch" : (key === S.tree.start.id ? "start" : "node"), key);
      var target = S.canvas.querySelector('[data-node-id="' + key + '"]');
      if (target) { target.scrollIntoView({ block: "center", inline: "center" }); }
    });
    S.problemList.appendChild(item);
  });
  S.problemList.classList.toggle("d-none", !(list && list.length));
  renderCanvas();
  renderPanel();
}

export function busy(button, on) { if (button) { button.disabled = on; } }

export function saved(pid) {
  S.isNew = false;
  S.dirty = false;
  var badge = document.getElementById("designer-badge");
  if (badge) { badge.textContent = "草稿"; badge.className = "badge text-bg-info"; }
  if (S.config.urls.edit && pid) { window.history.replaceState(null, "", S.config.urls.edit.replace("__pid__", encodeURIComponent(pid))); }
  if (S.selected.kind === "start") { renderPanel(); }  // the process id is fixed from now on
}

export function validate() {
  var button = document.getElementById("btn-validate");
  busy(button, true);
  post(S.config.urls.validate, { tree: S.tree, "new": S.isNew }).then(function (data) {
    busy(button, false);
    if (data.problems) { setProblems(data.problems); }
    if (data.ok) { show("success", "校验通过，可以部署" + (data.problems.length ? "（有 " + data.problems.length + " 条提示）" : "")); }
    else { show("danger", data.message || ("有 " + data.errors + " 个错误，请按提示修改")); }
  });
}

export function save() {
  var button = document.getElementById("btn-save");
  busy(button, true);
  post(S.config.urls.save, { tree: S.tree, "new": S.isNew }).then(function (data) {
    busy(button, false);
    if (!data.ok) { show("danger", data.message || "保存失败"); return; }
    saved(data.process_id);
    S.statusText.textContent = "草稿已保存 " + new Date().toLocaleTimeString();
    show("success", data.message);
  });
}

export function deploy() {
  var button = document.getElementById("btn-deploy");
  busy(button, true);
  var comment = document.getElementById("deploy-comment").value;
  post(S.config.urls.deploy, { tree: S.tree, "new": S.isNew, comment: comment }).then(function (data) {
    busy(button, false);
    if (!data.ok) {
      if (data.problems) { setProblems(data.problems); }
      show("danger", data.message || "部署失败");
      return;
    }
    saved(data.process_id);
    setProblems([]);
    var badge = document.getElementById("designer-badge");
    if (badge) { badge.textContent = "第 " + data.version + " 版"; badge.className = "badge text-bg-light"; }
    S.statusText.textContent = "已部署";
    show("success", data.message + "。", { href: data.start_url, text: "去发起", id: "designer-start-link" });
  });
}

export function showXml() {
  post(S.config.urls.compile, { tree: S.tree, "new": S.isNew }).then(function (data) {
    if (!data.ok) { show("danger", data.message || "生成 BPMN 失败"); return; }
    document.getElementById("designer-xml").textContent = data.bpmn;
    document.getElementById("designer-xml-card").classList.remove("d-none");
  });
}

export function openModeler() {
  if (S.dirty && !window.confirm("将把当前设计保存为草稿，并在 BPMN 编辑器中打开。继续吗？")) { return; }
  post(S.config.urls.modeler, { tree: S.tree, "new": S.isNew }).then(function (data) {
    if (!data.ok) { show("danger", data.message || "无法打开 BPMN 编辑器"); return; }
    S.dirty = false;
    window.location.href = data.url;
  });
}
