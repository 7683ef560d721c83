// The canvas: nested cards in a vertical flow, "+" menus between nodes, branches side by side.
import { S, ICONS, ADDABLE } from "./state.js";
import { change, conditionBranch, conditionText, makeNode, renewIds, select, summary } from "./model.js";
import { clone, el, icon, newId, roleName } from "./util.js";

export function actionButton(label, iconName, action, disabled) {
  var b = el("button", { type: "button", className: "btn btn-sm btn-link dd-act", title: label, "aria-label": label, "data-action": action, disabled: !!disabled });
  b.appendChild(icon(iconName));
  return b;
}

export function addButton(list, index) {
  var box = el("div", { className: "dd-add" });
  var button = el("button", { type: "button", className: "dd-add-btn", title: "添加节点", "aria-label": "添加节点", "data-add-index": index });
  button.appendChild(icon("plus-lg"));
  box.ddList = list;
  box.ddIndex = index;
  // The menu opens on pointerdown: a side-panel field that loses focus on this press commits its value
  // (change event) and re-renders the canvas before the click would arrive; renderCanvas reopens the
  // menu of S.openMenu, so the first press on "+" right after typing works.
  button.addEventListener("pointerdown", function (evt) {
    if (evt.button !== 0) { return; }
    S.menuGesture = true;
    openMenu(box, list, index);
  });
  button.addEventListener("click", function (evt) {
    evt.stopPropagation();
    if (S.menuGesture) { S.menuGesture = false; return; }
    openMenu(box, list, index); // keyboard
  });
  box.appendChild(button);
  return box;
}

export function closeMenus(evt) {
  if (evt && evt.type === "click" && S.menuGesture) { S.menuGesture = false; return; } // the press that opened it
  S.openMenu = null;
  Array.prototype.forEach.call(document.querySelectorAll(".dd-menu"), function (m) { m.remove(); });
}

export function openMenu(box, list, index) {
  closeMenus();
  var menu = el("div", { className: "dd-menu shadow", role: "menu" });
  ADDABLE.forEach(function (kind) {
    var item = el("button", { type: "button", className: "dd-menu-item dd-type-" + kind, role: "menuitem", "data-add-type": kind });
    item.appendChild(icon(ICONS[kind]));
    item.appendChild(document.createTextNode(" " + S.config.nodeTypes[kind]));
    item.addEventListener("click", function (evt) {
      evt.stopPropagation();
      closeMenus();
      var node = makeNode(kind);
      change(function () { list.splice(index, 0, node); S.selected = { kind: "node", id: node.id }; });
    });
    menu.appendChild(item);
  });
  box.appendChild(menu);
  S.openMenu = { list: list, index: index };
}

export function markProblems(card, id) {
  if (S.problems[id]) {
    card.classList.add(S.problems[id].some(function (p) { return p.severity === "error"; }) ? "dd-error" : "dd-warning");
    card.title = S.problems[id].map(function (p) { return p.message; }).join("\n");
  }
  if (S.selected.id === id) { card.classList.add("dd-selected"); }
}

export function card(kind, id, title, text, extraClass) {
  var c = el("div", { className: "dd-node dd-type-" + kind + (extraClass ? " " + extraClass : ""), "data-node-id": id, tabindex: "0", role: "button" });
  var head = el("div", { className: "dd-node-head" });
  head.appendChild(icon(ICONS[kind] || "circle"));
  head.appendChild(el("span", { className: "dd-node-title" }, title));
  c.appendChild(head);
  c.appendChild(el("div", { className: "dd-node-body" }, text));
  markProblems(c, id);
  return c;
}

export function nodeActions(head, list, index, node) {
  var box = el("span", { className: "dd-actions" });
  box.appendChild(actionButton("上移", "arrow-up", "up", index === 0));
  box.appendChild(actionButton("下移", "arrow-down", "down", index === list.length - 1));
  box.appendChild(actionButton("复制", "copy", "copy"));
  box.appendChild(actionButton("删除", "x-lg", "delete"));
  box.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-action]");
    if (!button) { return; }
    evt.stopPropagation();
    var action = button.getAttribute("data-action");
    change(function () {
      if (action === "up" && index > 0) { list.splice(index - 1, 0, list.splice(index, 1)[0]); }
      if (action === "down" && index < list.length - 1) { list.splice(index + 1, 0, list.splice(index, 1)[0]); }
      if (action === "copy") {
        var copy = renewIds(clone(node));
        copy.name = node.name + "（副本）";
        list.splice(index + 1, 0, copy);
        S.selected = { kind: "node", id: copy.id };
      }
      if (action === "delete") {
        list.splice(index, 1);
        if (S.selected.id === node.id) { S.selected = { kind: "start", id: S.tree.start.id }; }
      }
    });
  });
  head.appendChild(box);
}

export function renderList(container, list) {
  list.forEach(function (node, index) {
    container.appendChild(node.branches ? branchBlock(node, list, index) : simpleNode(node, list, index));
    container.appendChild(addButton(list, index + 1));
  });
}

export function simpleNode(node, list, index) {
  var c = card(node.type, node.id, node.name, summary(node));
  nodeActions(c.querySelector(".dd-node-head"), list, index, node);
  c.addEventListener("click", function () { select("node", node.id); });
  return c;
}

export function branchBlock(node, list, index) {
  var block = el("div", { className: "dd-branch-block dd-type-" + node.type, "data-node-id": node.id });
  var head = el("div", { className: "dd-branch-head", tabindex: "0", role: "button" });
  head.appendChild(icon(ICONS[node.type]));
  head.appendChild(el("span", { className: "dd-node-title" }, node.name));
  var add = el("button", { type: "button", className: "btn btn-sm btn-outline-primary dd-add-branch", "data-add-branch": node.id },
    node.type === "parallel" ? "添加分支" : "添加条件");
  add.addEventListener("click", function (evt) {
    evt.stopPropagation();
    change(function () { addBranch(node); });
  });
  head.appendChild(add);
  nodeActions(head, list, index, node);
  markProblems(head, node.id);
  head.addEventListener("click", function () { select("node", node.id); });
  block.appendChild(head);
  var row = el("div", { className: "dd-branches" });
  node.branches.forEach(function (branch, j) {
    var col = el("div", { className: "dd-branch-col" });
    var cond = card("condition", branch.id, branch.name, conditionText(branch, node), "dd-cond" + (branch.condition === null && node.type !== "parallel" ? " dd-default" : ""));
    cond.setAttribute("data-branch-id", branch.id);
    var chead = cond.querySelector(".dd-node-head");
    if (node.type !== "parallel" && branch.condition !== null) {
      chead.appendChild(el("span", { className: "dd-priority" }, "优先级 " + (j + 1)));
    }
    var acts = el("span", { className: "dd-actions" });
    var last = node.type === "parallel" ? node.branches.length - 1 : node.branches.length - 2;
    if (node.type === "parallel" || branch.condition !== null) {
      acts.appendChild(actionButton("左移", "arrow-left", "left", j === 0));
      acts.appendChild(actionButton("右移", "arrow-right", "right", j >= last));
      acts.appendChild(actionButton("删除分支", "x-lg", "delete-branch"));
    }
    acts.addEventListener("click", function (evt) {
      var button = evt.target.closest("[data-action]");
      if (!button) { return; }
      evt.stopPropagation();
      var action = button.getAttribute("data-action");
      change(function () {
        if (action === "left" && j > 0) { node.branches.splice(j - 1, 0, node.branches.splice(j, 1)[0]); }
        if (action === "right" && j < last) { node.branches.splice(j + 1, 0, node.branches.splice(j, 1)[0]); }
        if (action === "delete-branch") { deleteBranch(node, list, index, j); }
      });
    });
    chead.appendChild(acts);
    cond.addEventListener("click", function () { select("branch", branch.id); });
    col.appendChild(cond);
    col.appendChild(addButton(branch.nodes, 0));
    renderList(col, branch.nodes);
    col.appendChild(el("div", { className: "dd-branch-tail" }));
    row.appendChild(col);
  });
  block.appendChild(row);
  block.appendChild(el("div", { className: "dd-branch-foot" }));
  return block;
}

export function addBranch(node) {
  if (node.type === "parallel") {
    node.branches.push({ id: newId("flow"), name: "分支" + (node.branches.length + 1), condition: null, nodes: [] });
    return;
  }
  node.branches.splice(node.branches.length - 1, 0, conditionBranch("条件" + node.branches.length));
}

export function deleteBranch(node, list, index, j) {
  if (node.branches.length > 2) {
    node.branches.splice(j, 1);
    return;
  }
  // Two branches left: the branch node goes, the other branch's nodes stay in its place.
  var keep = node.branches[1 - j];
  Array.prototype.splice.apply(list, [index, 1].concat(keep.nodes));
  S.selected = { kind: "start", id: S.tree.start.id };
}

export function renderCanvas() {
  var scroll = S.canvas.scrollLeft;
  S.canvas.textContent = "";
  var flow = el("div", { className: "dd-flow" });
  var roles = S.tree.start.roles.length ? S.tree.start.roles.map(roleName).join("、") : "所有有发起权限的人";
  var form = S.catalog.forms[S.tree.start.form];
  var start = card("start", S.tree.start.id, S.tree.start.name, roles + (S.tree.start.form ? " · 表单：" + (form ? form.title : S.tree.start.form) : ""));
  start.addEventListener("click", function () { select("start", S.tree.start.id); });
  flow.appendChild(start);
  flow.appendChild(addButton(S.tree.nodes, 0));
  renderList(flow, S.tree.nodes);
  var end = el("div", { className: "dd-end", "data-node-id": S.tree.end.id }, "流程结束");
  flow.appendChild(end);
  S.canvas.appendChild(flow);
  S.canvas.scrollLeft = scroll;
  var open = S.openMenu;
  if (open) {
    var box = Array.prototype.find.call(S.canvas.querySelectorAll(".dd-add"), function (b) { return b.ddList === open.list && b.ddIndex === open.index; });
    if (box) { openMenu(box, open.list, open.index); } else { S.openMenu = null; }
  }
}
