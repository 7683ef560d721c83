// The simple approval designer (仿钉钉): the process is a tree of nodes, drawn as nested cards in a
// vertical flow with "+" buttons between them; branch nodes show their branches side by side.
// The tree is JSON (format: app/designer/tree.py); the server compiles it to BPMN. No framework, no
// inline scripts (CSP): configuration comes from data-config on #designer.
(function () {
  "use strict";

  var root = document.getElementById("designer");
  if (!root) { return; }
  var config = JSON.parse(root.getAttribute("data-config"));
  var catalog = config.catalog;
  var tree = config.tree;
  var isNew = !!config.new;
  var history = [];
  var selected = { kind: "start", id: tree.start.id };
  var problems = {};
  var dirty = false;
  var uid = 0;

  var canvas = document.getElementById("designer-canvas");
  var panel = document.getElementById("designer-panel");
  var message = document.getElementById("designer-message");
  var problemList = document.getElementById("designer-problems");
  var statusText = document.getElementById("designer-status");

  var ICONS = {
    start: "person-fill", approval: "person-check", task: "person-gear", cc: "send",
    condition: "signpost-split", parallel: "distribute-horizontal", inclusive: "diagram-3",
    delay: "hourglass-split", trigger: "lightning-charge", subprocess: "box-arrow-in-right", end: "stop-circle"
  };
  var ADDABLE = ["approval", "task", "cc", "condition", "parallel", "inclusive", "delay", "trigger", "subprocess"];
  var ASSIGNEE_KINDS = [
    ["leader", "直属领导"], ["leader_up", "上级领导"], ["role", "指定角色"], ["users", "指定成员"],
    ["initiator", "发起人本人"], ["field", "表单中的人员字段"], ["expr", "表达式"]
  ];
  var METHODS = [["single", "单人审批"], ["sequential", "依次审批"], ["all", "会签（须全部同意）"],
    ["any", "或签（一人同意即可）"], ["ratio", "按比例通过"]];
  var NO_APPROVER = [["admin", "转交流程管理员"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"], ["user", "转交指定人员"]];
  var ON_INITIATOR = [["self", "由发起人自己审批"], ["skip", "自动跳过"], ["leader", "转交直属领导"]];
  var AUTO_PASS = [["never", "不自动通过"], ["consecutive", "与上一节点审批人相同时自动通过"], ["always", "审批过即自动通过"]];
  var TIMEOUT = [["none", "不处理"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"], ["escalate", "升级给上级"]];
  var BUTTONS = {
    approval: [["approve", "通过"], ["reject", "拒绝"], ["return", "退回"], ["transfer", "转办"], ["delegate", "委派"],
      ["add_sign", "加签"], ["cc", "抄送"], ["draft", "暂存"]],
    task: [["complete", "提交"], ["return", "退回"], ["transfer", "转办"], ["delegate", "委派"], ["cc", "抄送"], ["draft", "暂存"]]
  };
  var PERMS = [["edit", "可编辑"], ["readonly", "只读"], ["hidden", "隐藏"]];

  // ------------------------------------------------------------------------------------------
  // small helpers

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) { return; }
      if (k === "className") { node.className = v; } else { node.setAttribute(k, v === true ? "" : v); }
    });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function icon(name) { return el("i", { className: "bi bi-" + name, "aria-hidden": "true" }); }

  function clone(value) { return JSON.parse(JSON.stringify(value)); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return { ok: false, message: "服务器返回了无法识别的内容（HTTP " + resp.status + "）" }; })
        .then(function (data) { data.httpStatus = resp.status; return data; });
    }, function () { return { ok: false, message: "网络错误，请稍后重试" }; });
  }

  function show(kind, text, link) {
    message.className = "alert py-2 alert-" + kind;
    message.textContent = text;
    if (link) {
      message.appendChild(document.createTextNode(" "));
      message.appendChild(el("a", { href: link.href, className: "alert-link", id: link.id }, link.text));
    }
  }

  function allIds() {
    var ids = {};
    ids[tree.start.id] = true; ids[tree.end.id] = true;
    eachNode(tree.nodes, function (n) {
      ids[n.id] = true;
      (n.branches || []).forEach(function (b) { ids[b.id] = true; });
    });
    return ids;
  }

  function newId(prefix) {
    var ids = allIds();
    var id;
    do { uid += 1; id = prefix + "_" + Math.random().toString(36).slice(2, 8) + uid.toString(36); } while (ids[id]);
    return id;
  }

  function eachNode(list, fn) {
    list.forEach(function (n) {
      fn(n);
      (n.branches || []).forEach(function (b) { eachNode(b.nodes, fn); });
    });
  }

  function findNode(id) {
    var found = null;
    (function search(list) {
      list.forEach(function (n, i) {
        if (n.id === id) { found = { node: n, list: list, index: i }; }
        (n.branches || []).forEach(function (b, j) {
          if (b.id === id) { found = { branch: b, node: n, index: j }; }
          search(b.nodes);
        });
      });
    })(tree.nodes);
    return found;
  }

  function startFields() {
    var form = catalog.forms[tree.start.form];
    return form ? form.fields : [];
  }

  function fieldInfo(name) {
    return startFields().filter(function (f) { return f.name === name; })[0] || null;
  }

  function roleName(code) {
    var r = catalog.roles.filter(function (x) { return x.code === code; })[0];
    return r ? r.name : code;
  }

  function userName(login) {
    var u = catalog.users.filter(function (x) { return x.login === login; })[0];
    return u ? u.name : login;
  }

  function splitList(text) {
    return String(text || "").replace(/，/g, ",").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function typed(raw, field) {
    var type = field ? field.type : null;
    var text = String(raw === undefined || raw === null ? "" : raw).trim();
    if ((type === "integer" || type === "number") && text !== "" && !isNaN(Number(text))) { return Number(text); }
    if (type === "boolean") { return text === "true"; }
    if (!field && text !== "" && /^-?\d+(\.\d+)?$/.test(text)) { return Number(text); }
    return text;
  }

  // ------------------------------------------------------------------------------------------
  // history and changes

  function change(fn, options) {
    history.push(JSON.stringify(tree));
    if (history.length > 100) { history.shift(); }
    fn();
    dirty = true;
    statusText.textContent = "有未保存的修改";
    document.getElementById("btn-undo").disabled = false;
    renderCanvas();
    if (!options || options.panel !== false) { renderPanel(); }
  }

  function undo() {
    if (!history.length) { return; }
    tree = JSON.parse(history.pop());
    document.getElementById("btn-undo").disabled = history.length === 0;
    if (selected.kind !== "start" && selected.kind !== "end" && !findNode(selected.id)) {
      selected = { kind: "start", id: tree.start.id };
    }
    dirty = true;
    statusText.textContent = "已撤销";
    renderCanvas();
    renderPanel();
  }

  function select(kind, id) {
    selected = { kind: kind, id: id };
    renderCanvas();
    renderPanel();
  }

  // ------------------------------------------------------------------------------------------
  // new nodes

  function defaultProps(kind) {
    var props = { assignee: kind === "approval" ? "leader" : "initiator" };
    if (kind === "approval") { props.method = "single"; props.rejectPolicy = "end"; }
    if (tree.start.form) {
      props.formJsonSchemaFilename = tree.start.form;
      var ui = tree.start.form.replace(".schema.json", ".uischema.json");
      if (catalog.uiForms.indexOf(ui) >= 0) { props.formUiSchemaFilename = ui; }
      var perms = startFields().map(function (f) { return f.name + ":readonly"; });
      if (perms.length) { props.fieldPermissions = perms.join(","); }
    }
    return props;
  }

  function conditionBranch(name) {
    return { id: newId("flow"), name: name, condition: { match: "all", rules: [] }, nodes: [] };
  }

  function makeNode(kind) {
    var node = { id: newId("node"), type: kind, name: config.nodeTypes[kind] };
    if (kind === "approval" || kind === "task") { node.props = defaultProps(kind); }
    if (kind === "cc") { node.users = []; node.note = ""; }
    if (kind === "condition" || kind === "inclusive") {
      node.branches = [conditionBranch("条件1")];
      node.branches.push({ id: newId("flow"), name: "其他情况", condition: null, nodes: [] });
    }
    if (kind === "parallel") {
      node.branches = [{ id: newId("flow"), name: "分支1", condition: null, nodes: [] }];
      node.branches.push({ id: newId("flow"), name: "分支2", condition: null, nodes: [] });
    }
    if (kind === "delay") { node.amount = 1; node.unit = "hours"; }
    if (kind === "trigger") {
      node.mode = "http"; node.url = ""; node.method = "POST"; node.fields = []; node.timeout = 10;
      node.result = node.id + "_response"; node.onError = "fail";
    }
    if (kind === "subprocess") { node.process = ""; }
    return node;
  }

  function renewIds(node) {
    node.id = newId("node");
    if (node.type === "trigger" && node.mode === "http") { node.result = node.id + "_response"; }
    (node.branches || []).forEach(function (b) {
      b.id = newId("flow");
      b.nodes.forEach(renewIds);
    });
    return node;
  }

  // ------------------------------------------------------------------------------------------
  // summaries shown on the cards

  function assigneeText(rule) {
    rule = rule || "";
    var kind = rule.split(":")[0];
    var arg = rule.slice(kind.length + 1);
    if (!rule) { return "未设置"; }
    if (kind === "leader") { return "直属领导"; }
    if (kind === "leader_up") { return "上" + (arg || "1") + "级领导"; }
    if (kind === "role") { return "角色：" + roleName(arg); }
    if (kind === "users") { return splitList(arg).map(userName).join("、"); }
    if (kind === "initiator") { return "发起人本人"; }
    if (kind === "field") { var f = fieldInfo(arg); return "表单字段：" + (f ? f.title : arg); }
    if (kind === "expr") { return "表达式：" + arg; }
    return rule;
  }

  function ruleText(rule) {
    var f = fieldInfo(rule.field);
    var label = f ? f.title : rule.field;
    var value = rule.value;
    if (f && f.options && f.options.length) {
      var show = function (v) { var o = f.options.filter(function (x) { return x[0] === v; })[0]; return o ? o[1] : v; };
      value = Array.isArray(value) ? value.map(show) : show(value);
    }
    if (Array.isArray(value)) { value = value.join("、"); }
    var op = config.operators[rule.op] || rule.op;
    if (rule.op === "empty" || rule.op === "not_empty") { return label + " " + op; }
    return label + " " + op + " " + value;
  }

  function conditionText(branch, node) {
    if (node.type === "parallel") { return "与其他分支同时进行"; }
    var c = branch.condition;
    if (!c) { return "其他条件都不满足时进入此分支"; }
    if (c.expression !== undefined) { return "表达式：" + (c.expression || "（未填写）"); }
    if (!c.rules.length) { return "请设置条件"; }
    return c.rules.map(ruleText).join(c.match === "any" ? " 或 " : " 且 ");
  }

  function summary(node) {
    var p = node.props || {};
    switch (node.type) {
      case "approval":
        var method = METHODS.filter(function (m) { return (p.method || "single").indexOf(m[0]) === 0; })[0];
        return assigneeText(p.assignee) + (method && method[0] !== "single" ? " · " + method[1] : "");
      case "task": return assigneeText(p.assignee);
      case "cc": return node.users.length ? "抄送：" + node.users.map(userName).join("、") : "请选择抄送人";
      case "delay": return "等待 " + node.amount + " " + (config.delayUnits[node.unit] || node.unit);
      case "trigger":
        if (node.mode === "update") {
          return node.assignments.length ? "更新：" + node.assignments.map(function (a) { return a.field + " = " + a.value; }).join("，") : "请设置要更新的字段";
        }
        return node.url ? node.method + " " + node.url : "请设置调用地址";
      case "subprocess":
        var proc = catalog.processes.filter(function (x) { return x.id === node.process; })[0];
        return node.process ? "调用：" + (proc ? proc.name : node.process) : "请选择要调用的流程";
      default: return "";
    }
  }

  // ------------------------------------------------------------------------------------------
  // the canvas

  function actionButton(label, iconName, action, disabled) {
    var b = el("button", { type: "button", className: "btn btn-sm btn-link dd-act", title: label, "aria-label": label, "data-action": action, disabled: !!disabled });
    b.appendChild(icon(iconName));
    return b;
  }

  function addButton(list, index) {
    var box = el("div", { className: "dd-add" });
    var button = el("button", { type: "button", className: "dd-add-btn", title: "添加节点", "aria-label": "添加节点", "data-add-index": index });
    button.appendChild(icon("plus-lg"));
    button.addEventListener("click", function (evt) {
      evt.stopPropagation();
      openMenu(box, list, index);
    });
    box.appendChild(button);
    return box;
  }

  function closeMenus() {
    Array.prototype.forEach.call(document.querySelectorAll(".dd-menu"), function (m) { m.remove(); });
  }

  function openMenu(box, list, index) {
    closeMenus();
    var menu = el("div", { className: "dd-menu shadow", role: "menu" });
    ADDABLE.forEach(function (kind) {
      var item = el("button", { type: "button", className: "dd-menu-item dd-type-" + kind, role: "menuitem", "data-add-type": kind });
      item.appendChild(icon(ICONS[kind]));
      item.appendChild(document.createTextNode(" " + config.nodeTypes[kind]));
      item.addEventListener("click", function (evt) {
        evt.stopPropagation();
        closeMenus();
        var node = makeNode(kind);
        change(function () { list.splice(index, 0, node); selected = { kind: "node", id: node.id }; });
      });
      menu.appendChild(item);
    });
    box.appendChild(menu);
  }

  function markProblems(card, id) {
    if (problems[id]) {
      card.classList.add(problems[id].some(function (p) { return p.severity === "error"; }) ? "dd-error" : "dd-warning");
      card.title = problems[id].map(function (p) { return p.message; }).join("\n");
    }
    if (selected.id === id) { card.classList.add("dd-selected"); }
  }

  function card(kind, id, title, text, extraClass) {
    var c = el("div", { className: "dd-node dd-type-" + kind + (extraClass ? " " + extraClass : ""), "data-node-id": id, tabindex: "0", role: "button" });
    var head = el("div", { className: "dd-node-head" });
    head.appendChild(icon(ICONS[kind] || "circle"));
    head.appendChild(el("span", { className: "dd-node-title" }, title));
    c.appendChild(head);
    c.appendChild(el("div", { className: "dd-node-body" }, text));
    markProblems(c, id);
    return c;
  }

  function nodeActions(head, list, index, node) {
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
          selected = { kind: "node", id: copy.id };
        }
        if (action === "delete") {
          list.splice(index, 1);
          if (selected.id === node.id) { selected = { kind: "start", id: tree.start.id }; }
        }
      });
    });
    head.appendChild(box);
  }

  function renderList(container, list) {
    list.forEach(function (node, index) {
      container.appendChild(node.branches ? branchBlock(node, list, index) : simpleNode(node, list, index));
      container.appendChild(addButton(list, index + 1));
    });
  }

  function simpleNode(node, list, index) {
    var c = card(node.type, node.id, node.name, summary(node));
    nodeActions(c.querySelector(".dd-node-head"), list, index, node);
    c.addEventListener("click", function () { select("node", node.id); });
    return c;
  }

  function branchBlock(node, list, index) {
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

  function addBranch(node) {
    if (node.type === "parallel") {
      node.branches.push({ id: newId("flow"), name: "分支" + (node.branches.length + 1), condition: null, nodes: [] });
      return;
    }
    node.branches.splice(node.branches.length - 1, 0, conditionBranch("条件" + node.branches.length));
  }

  function deleteBranch(node, list, index, j) {
    if (node.branches.length > 2) {
      node.branches.splice(j, 1);
      return;
    }
    // Two branches left: the branch node goes, the other branch's nodes stay in its place.
    var keep = node.branches[1 - j];
    Array.prototype.splice.apply(list, [index, 1].concat(keep.nodes));
    selected = { kind: "start", id: tree.start.id };
  }

  function renderCanvas() {
    var scroll = canvas.scrollLeft;
    canvas.textContent = "";
    var flow = el("div", { className: "dd-flow" });
    var roles = tree.start.roles.length ? tree.start.roles.map(roleName).join("、") : "所有有发起权限的人";
    var form = catalog.forms[tree.start.form];
    var start = card("start", tree.start.id, tree.start.name, roles + (tree.start.form ? " · 表单：" + (form ? form.title : tree.start.form) : ""));
    start.addEventListener("click", function () { select("start", tree.start.id); });
    flow.appendChild(start);
    flow.appendChild(addButton(tree.nodes, 0));
    renderList(flow, tree.nodes);
    var end = el("div", { className: "dd-end", "data-node-id": tree.end.id }, "流程结束");
    flow.appendChild(end);
    canvas.appendChild(flow);
    canvas.scrollLeft = scroll;
  }

  // ------------------------------------------------------------------------------------------
  // the side panel

  var fieldSeq = 0;

  function group(box, label, control, help) {
    fieldSeq += 1;
    var id = "dd-f" + fieldSeq;
    var wrap = el("div", { className: "mb-2" });
    wrap.appendChild(el("label", { className: "form-label small mb-0", "for": id }, label));
    control.id = control.id || id;
    wrap.appendChild(control);
    if (help) { wrap.appendChild(el("div", { className: "form-text" }, help)); }
    box.appendChild(wrap);
    return control;
  }

  function input(box, label, value, onChange, opts) {
    opts = opts || {};
    var control = el(opts.textarea ? "textarea" : "input", {
      className: "form-control form-control-sm", type: opts.textarea ? null : (opts.type || "text"),
      name: opts.name, placeholder: opts.placeholder, list: opts.list, disabled: !!opts.disabled, min: opts.min, max: opts.max, rows: opts.textarea ? 3 : null
    });
    control.value = value === undefined || value === null ? "" : value;
    control.addEventListener("change", function () { onChange(control.value); });
    return group(box, label, control, opts.help);
  }

  function selectBox(box, label, value, options, onChange, opts) {
    opts = opts || {};
    var control = el("select", { className: "form-select form-select-sm", name: opts.name });
    var known = false;
    options.forEach(function (o) {
      var option = el("option", { value: o[0] }, o[1]);
      if (String(o[0]) === String(value)) { option.selected = true; known = true; }
      control.appendChild(option);
    });
    if (!known && value) { var extra = el("option", { value: value }, value); extra.selected = true; control.appendChild(extra); }
    control.addEventListener("change", function () { onChange(control.value); });
    return group(box, label, control, opts.help);
  }

  function checks(box, label, options, values, onChange, name) {
    var wrap = el("fieldset", { className: "mb-2" });
    wrap.appendChild(el("legend", { className: "form-label small mb-0 fs-6" }, label));
    options.forEach(function (o) {
      fieldSeq += 1;
      var id = "dd-c" + fieldSeq;
      var line = el("div", { className: "form-check form-check-inline" });
      var cb = el("input", { className: "form-check-input", type: "checkbox", id: id, value: o[0], name: name });
      cb.checked = values.indexOf(o[0]) >= 0;
      cb.addEventListener("change", function () {
        var now = Array.prototype.filter.call(wrap.querySelectorAll("input"), function (x) { return x.checked; })
          .map(function (x) { return x.value; });
        onChange(now);
      });
      line.appendChild(cb);
      line.appendChild(el("label", { className: "form-check-label small", "for": id }, o[1]));
      wrap.appendChild(line);
    });
    box.appendChild(wrap);
  }

  function heading(box, text) { box.appendChild(el("h3", { className: "h6 mt-3 mb-2 text-muted" }, text)); }

  function ensureDatalists() {
    if (document.getElementById("dd-users")) { return; }
    var users = el("datalist", { id: "dd-users" });
    catalog.users.forEach(function (u) { users.appendChild(el("option", { value: u.login }, u.name)); });
    root.appendChild(users);
  }

  function renderPanel() {
    panel.textContent = "";
    var head = el("div", { className: "card-header d-flex align-items-center gap-2" });
    var body = el("div", { className: "card-body dd-panel-body" });
    panel.appendChild(head);
    panel.appendChild(body);
    if (selected.kind === "start") {
      head.appendChild(icon(ICONS.start));
      head.appendChild(el("span", {}, "发起人与流程信息"));
      startPanel(body);
      return;
    }
    var found = findNode(selected.id);
    if (!found) { head.textContent = "请选择一个节点"; return; }
    if (found.branch) {
      head.appendChild(icon(ICONS.condition));
      head.appendChild(el("span", {}, found.node.type === "parallel" ? "分支设置" : "条件设置"));
      branchPanel(body, found.node, found.branch);
      return;
    }
    var node = found.node;
    head.appendChild(icon(ICONS[node.type]));
    head.appendChild(el("span", {}, config.nodeTypes[node.type] + "设置"));
    input(body, "节点名称", node.name, function (v) { change(function () { node.name = v.trim() || config.nodeTypes[node.type]; }, { panel: false }); }, { name: "name" });
    ({ approval: peoplePanel, task: peoplePanel, cc: ccPanel, condition: branchNodePanel, inclusive: branchNodePanel,
      parallel: branchNodePanel, delay: delayPanel, trigger: triggerPanel, subprocess: subprocessPanel })[node.type](body, node);
    (problems[node.id] || []).forEach(function (p) {
      body.appendChild(el("div", { className: "alert py-1 px-2 small alert-" + (p.severity === "error" ? "danger" : "warning") }, p.message));
    });
  }

  function startPanel(body) {
    input(body, "流程名称", tree.process.name, function (v) {
      change(function () { tree.process.name = v.trim(); document.getElementById("designer-title").textContent = v.trim() || "新流程"; }, { panel: false });
    }, { name: "process-name" });
    input(body, "流程 id", tree.process.id, function (v) {
      change(function () { tree.process.id = v.trim(); document.getElementById("designer-pid").textContent = v.trim(); }, { panel: false });
    }, { name: "process-id", disabled: !isNew, placeholder: "如 leave_request", help: isNew ? "字母开头，只含字母、数字、下划线；保存后不能修改" : "已保存的流程不能修改 id" });
    input(body, "分类", tree.process.props.category, function (v) { setProp(tree.process.props, "category", v); }, { name: "category" });
    input(body, "标题规则", tree.process.props.titleRule, function (v) { setProp(tree.process.props, "titleRule", v); },
      { name: "titleRule", placeholder: "{subject}", help: "用 {字段名} 引用发起表单的字段" });
    input(body, "编号规则", tree.process.props.numberRule, function (v) { setProp(tree.process.props, "numberRule", v); },
      { name: "numberRule", placeholder: "SP{yyyy}{MM}{dd}{seq:4}" });
    heading(body, "谁可以发起");
    checks(body, "可发起的角色（不选则所有有发起权限的人均可发起）", catalog.roles.map(function (r) { return [r.code, r.name]; }),
      tree.start.roles, function (now) { change(function () { tree.start.roles = now; }, { panel: false }); }, "start-roles");
    var formOptions = [["", "（不需要发起表单）"]].concat(Object.keys(catalog.forms).sort().map(function (k) { return [k, catalog.forms[k].title + "（" + k + "）"]; }));
    selectBox(body, "发起表单", tree.start.form, formOptions, function (v) { change(function () { tree.start.form = v; }); }, { name: "start-form" });
  }

  function setProp(props, key, value, panelToo) {
    change(function () {
      value = String(value === undefined || value === null ? "" : value).trim();
      if (value === "") { delete props[key]; } else { props[key] = value; }
    }, { panel: !!panelToo });
  }

  function assigneeControls(body, node) {
    var p = node.props;
    var rule = p.assignee || "";
    var kind = rule.split(":")[0] || "";
    var arg = rule.slice(kind.length + 1);
    var who = node.type === "approval" ? "审批人" : "办理人";
    selectBox(body, who, kind, [["", "（请选择）"]].concat(ASSIGNEE_KINDS), function (v) {
      var defaults = { leader: "leader", leader_up: "leader_up:1", role: "role:" + (catalog.roles[0] ? catalog.roles[0].code : ""),
        users: "users:", initiator: "initiator", field: "field:", expr: "expr:" };
      setProp(p, "assignee", defaults[v] || "", true);
    }, { name: "assignee-kind" });
    if (kind === "leader_up") {
      input(body, "向上级数", arg || "1", function (v) { setProp(p, "assignee", "leader_up:" + (parseInt(v, 10) || 1)); }, { type: "number", min: 1, max: 5, name: "assignee-levels" });
    } else if (kind === "role") {
      selectBox(body, "角色", arg, catalog.roles.map(function (r) { return [r.code, r.name]; }), function (v) { setProp(p, "assignee", "role:" + v); }, { name: "assignee-role" });
    } else if (kind === "users") {
      ensureDatalists();
      input(body, "成员（登录名，多人用逗号分隔）", arg, function (v) { setProp(p, "assignee", "users:" + splitList(v).join(",")); }, { list: "dd-users", name: "assignee-users" });
    } else if (kind === "field") {
      selectBox(body, "人员字段", arg, [["", "（请选择）"]].concat(startFields().map(function (f) { return [f.name, f.title]; })),
        function (v) { setProp(p, "assignee", "field:" + v); }, { name: "assignee-field" });
    } else if (kind === "expr") {
      input(body, "表达式（返回登录名或登录名列表）", arg, function (v) { setProp(p, "assignee", "expr:" + v); }, { name: "assignee-expr" });
    }
  }

  function peoplePanel(body, node) {
    var p = node.props;
    var approval = node.type === "approval";
    assigneeControls(body, node);
    if (approval) {
      var method = (p.method || "single").split(":");
      selectBox(body, "多人审批方式", method[0], METHODS, function (v) { setProp(p, "method", v === "ratio" ? "ratio:60" : v, true); }, { name: "method" });
      if (method[0] === "ratio") {
        input(body, "通过比例（%）", method[1] || "60", function (v) { setProp(p, "method", "ratio:" + (parseInt(v, 10) || 60)); }, { type: "number", min: 1, max: 100, name: "ratio" });
      }
      var policy = p.rejectPolicy || "continue";
      var targets = [];
      eachNode(tree.nodes, function (n) { if ((n.type === "approval" || n.type === "task") && n.id !== node.id) { targets.push(["return:" + n.id, "退回到「" + n.name + "」"]); } });
      selectBox(body, "审批拒绝后", policy, [["end", "结束流程"], ["terminate", "终止流程（作废）"], ["return:initiator", "退回发起人"]]
        .concat(targets).concat([["continue", "记录意见，继续流转"]]), function (v) { setProp(p, "rejectPolicy", v); }, { name: "rejectPolicy" });
    }
    heading(body, "审批人为空或与发起人相同");
    var none = p.onNoApprover || "admin";
    selectBox(body, "找不到" + (approval ? "审批人" : "办理人") + "时", none.split(":")[0], NO_APPROVER, function (v) {
      setProp(p, "onNoApprover", v === "admin" ? "" : (v === "user" ? "user:" : v), true);
    }, { name: "onNoApprover" });
    if (none.indexOf("user:") === 0) {
      ensureDatalists();
      input(body, "转交给（登录名）", none.slice(5), function (v) { setProp(p, "onNoApprover", "user:" + v.trim()); }, { list: "dd-users", name: "onNoApprover-user" });
    }
    if (approval) {
      selectBox(body, "审批人是发起人时", p.onInitiator || "self", ON_INITIATOR, function (v) { setProp(p, "onInitiator", v === "self" ? "" : v); }, { name: "onInitiator" });
      selectBox(body, "自动去重", p.autoPass || "never", AUTO_PASS, function (v) { setProp(p, "autoPass", v === "never" ? "" : v); }, { name: "autoPass" });
    }
    heading(body, "期限");
    input(body, "办理期限（工作日）", p.dueWorkingDays, function (v) { setProp(p, "dueWorkingDays", v); }, { type: "number", min: 1, name: "dueWorkingDays" });
    selectBox(body, "超时后", p.timeoutAction || "none", approval ? TIMEOUT : [TIMEOUT[0], TIMEOUT[3]], function (v) { setProp(p, "timeoutAction", v === "none" ? "" : v); }, { name: "timeoutAction" });
    heading(body, "表单与字段权限");
    var formOptions = [["", "（不显示表单）"]].concat(Object.keys(catalog.forms).sort().map(function (k) { return [k, catalog.forms[k].title + "（" + k + "）"]; }));
    selectBox(body, "表单", p.formJsonSchemaFilename || "", formOptions, function (v) {
      change(function () {
        if (!v) { delete p.formJsonSchemaFilename; delete p.formUiSchemaFilename; delete p.fieldPermissions; return; }
        p.formJsonSchemaFilename = v;
        var ui = v.replace(".schema.json", ".uischema.json");
        if (catalog.uiForms.indexOf(ui) >= 0) { p.formUiSchemaFilename = ui; } else { delete p.formUiSchemaFilename; }
        delete p.fieldPermissions;
      });
    }, { name: "form" });
    var form = catalog.forms[p.formJsonSchemaFilename];
    if (form) {
      var perms = {};
      splitList(p.fieldPermissions).forEach(function (pair) { var kv = pair.split(":"); perms[kv[0]] = kv[1]; });
      form.fields.forEach(function (f) {
        selectBox(body, "字段：" + f.title, perms[f.name] || "edit", PERMS, function (v) {
          if (v === "edit") { delete perms[f.name]; } else { perms[f.name] = v; }
          setProp(p, "fieldPermissions", Object.keys(perms).map(function (k) { return k + ":" + perms[k]; }).join(","));
        }, { name: "perm-" + f.name });
      });
    }
    if (!approval) {
      selectBox(body, "所属机构字段（派单）", p.orgField || "", [["", "（流程所属机构）"]].concat(startFields().map(function (f) { return [f.name, f.title]; })),
        function (v) { setProp(p, "orgField", v); }, { name: "orgField", help: "任务交给该字段中机构代码对应的单位办理" });
    }
    heading(body, "意见、按钮与签名");
    if (approval) {
      checks(body, "必须填写意见", [["approve", "通过时"], ["reject", "拒绝时"]], splitList(p.reasonRequired),
        function (now) { setProp(p, "reasonRequired", now.join(",")); }, "reasonRequired");
    }
    var all = BUTTONS[node.type];
    var labels = {};  // custom labels written in the BPMN editor ("approve:同意") are kept
    splitList(p.buttons).forEach(function (pair) { var kv = pair.split(":"); if (kv[1]) { labels[kv[0]] = kv[1]; } });
    var current = p.buttons ? splitList(p.buttons).map(function (b) { return b.split(":")[0]; }) : all.map(function (b) { return b[0]; });
    checks(body, "操作按钮", all, current, function (now) {
      var isDefault = now.length === all.length && !Object.keys(labels).length;
      setProp(p, "buttons", isDefault ? "" : now.map(function (k) { return labels[k] ? k + ":" + labels[k] : k; }).join(","));
    }, "buttons");
    checks(body, "手写签名", [["true", "通过/提交时须手写签名"]], p.signature === "true" ? ["true"] : [], function (now) {
      setProp(p, "signature", now.length ? "true" : "");
    }, "signature");
    var known = ["assignee", "method", "rejectPolicy", "onNoApprover", "onInitiator", "autoPass", "dueWorkingDays", "timeoutAction",
      "formJsonSchemaFilename", "formUiSchemaFilename", "fieldPermissions", "orgField", "reasonRequired", "buttons", "signature"];
    var others = Object.keys(p).filter(function (k) { return known.indexOf(k) < 0; });
    if (others.length) {
      heading(body, "其他属性（在 BPMN 编辑器中修改）");
      var list = el("ul", { className: "small text-muted ps-3" });
      others.forEach(function (k) { list.appendChild(el("li", {}, k + " = " + p[k])); });
      body.appendChild(list);
    }
  }

  function ccPanel(body, node) {
    ensureDatalists();
    input(body, "抄送人员（登录名，多人用逗号分隔）", node.users.join(","), function (v) {
      change(function () { node.users = splitList(v); }, { panel: false });
    }, { list: "dd-users", name: "cc-users", help: node.users.map(function (u) { return u + " " + userName(u); }).join("、") || null });
    input(body, "抄送说明", node.note, function (v) { change(function () { node.note = v.trim(); }, { panel: false }); }, { name: "cc-note" });
  }

  function branchNodePanel(body, node) {
    body.appendChild(el("p", { className: "small text-muted" }, node.type === "parallel"
      ? "各分支同时进行，全部完成后汇合。" : node.type === "inclusive"
        ? "满足条件的分支都会进行（可以多个），全部完成后汇合；都不满足时进入“其他情况”。"
        : "按优先级判断，进入第一个满足条件的分支；都不满足时进入“其他情况”。"));
    var add = el("button", { type: "button", className: "btn btn-sm btn-outline-primary" }, node.type === "parallel" ? "添加分支" : "添加条件");
    add.addEventListener("click", function () { change(function () { addBranch(node); }); });
    body.appendChild(add);
  }

  function branchPanel(body, node, branch) {
    input(body, "分支名称", branch.name, function (v) { change(function () { branch.name = v.trim() || "分支"; }, { panel: false }); }, { name: "branch-name" });
    if (node.type === "parallel") { return; }
    if (branch.condition === null) {
      body.appendChild(el("p", { className: "small text-muted" }, "其他条件都不满足时进入此分支（默认分支），无需设置条件。"));
      return;
    }
    var c = branch.condition;
    var expressionMode = c.expression !== undefined;
    checks(body, "高级", [["expr", "用 Python 表达式编写条件"]], expressionMode ? ["expr"] : [], function (now) {
      change(function () {
        branch.condition = now.length ? { expression: "" } : { match: "all", rules: [] };
      });
    }, "expression-mode");
    if (expressionMode) {
      input(body, "条件表达式", c.expression, function (v) { change(function () { c.expression = v.trim(); }, { panel: false }); },
        { textarea: true, name: "expression", help: "如：amount > 10000 and category == \"purchase\"" });
      return;
    }
    selectBox(body, "条件之间", c.match, [["all", "同时满足（且）"], ["any", "满足任一（或）"]], function (v) { change(function () { c.match = v; }, { panel: false }); }, { name: "match" });
    c.rules.forEach(function (rule, i) { ruleEditor(body, c, rule, i); });
    var add = el("button", { type: "button", className: "btn btn-sm btn-outline-primary", id: "dd-add-rule" }, "添加条件");
    add.addEventListener("click", function () {
      var first = startFields()[0];
      change(function () { c.rules.push({ field: first ? first.name : "", op: "==", value: "" }); });
    });
    body.appendChild(add);
  }

  function ruleEditor(body, c, rule, i) {
    var box = el("div", { className: "dd-rule border rounded p-2 mb-2", "data-rule-index": i });
    var fields = startFields().map(function (f) { return [f.name, f.title]; });
    selectBox(box, "字段", rule.field, [["", "（请选择）"]].concat(fields), function (v) {
      change(function () { rule.field = v; });
    }, { name: "rule-field-" + i });
    selectBox(box, "比较", rule.op, Object.keys(config.operators).map(function (k) { return [k, config.operators[k]]; }), function (v) {
      change(function () {
        rule.op = v;
        if (v === "empty" || v === "not_empty") { rule.value = null; }
        else if (v === "in" || v === "not_in") { rule.value = Array.isArray(rule.value) ? rule.value : (rule.value === null || rule.value === "" ? [] : [rule.value]); }
        else if (Array.isArray(rule.value)) { rule.value = rule.value[0] === undefined ? "" : rule.value[0]; }
      });
    }, { name: "rule-op-" + i });
    var f = fieldInfo(rule.field);
    if (rule.op !== "empty" && rule.op !== "not_empty") {
      if (rule.op === "in" || rule.op === "not_in") {
        input(box, "取值（多个用逗号分隔）", (rule.value || []).join(","), function (v) {
          change(function () { rule.value = splitList(v).map(function (x) { return typed(x, f); }); }, { panel: false });
        }, { name: "rule-value-" + i });
      } else if (f && f.options && f.options.length) {
        selectBox(box, "取值", rule.value, [["", "（请选择）"]].concat(f.options), function (v) {
          change(function () { rule.value = typed(v, f); }, { panel: false });
        }, { name: "rule-value-" + i });
      } else if (f && f.type === "boolean") {
        selectBox(box, "取值", String(rule.value), [["true", "是"], ["false", "否"]], function (v) {
          change(function () { rule.value = v === "true"; }, { panel: false });
        }, { name: "rule-value-" + i });
      } else {
        input(box, "取值", rule.value, function (v) { change(function () { rule.value = typed(v, f); }, { panel: false }); },
          { name: "rule-value-" + i, type: f && (f.type === "integer" || f.type === "number") ? "number" : "text" });
      }
    }
    var del = el("button", { type: "button", className: "btn btn-sm btn-link text-danger p-0" }, "删除此条件");
    del.addEventListener("click", function () { change(function () { c.rules.splice(i, 1); }); });
    box.appendChild(del);
    body.appendChild(box);
  }

  function delayPanel(body, node) {
    input(body, "时长", node.amount, function (v) { change(function () { node.amount = parseInt(v, 10) || 1; }, { panel: false }); }, { type: "number", min: 1, name: "delay-amount" });
    selectBox(body, "单位", node.unit, Object.keys(config.delayUnits).map(function (k) { return [k, config.delayUnits[k]]; }),
      function (v) { change(function () { node.unit = v; }, { panel: false }); }, { name: "delay-unit", help: "工作日按工作日历计算（节假日顺延）" });
  }

  function triggerPanel(body, node) {
    selectBox(body, "触发方式", node.mode, [["http", "调用外部接口（HTTP）"], ["update", "更新表单字段"]], function (v) {
      change(function () {
        var keep = { id: node.id, type: node.type, name: node.name };
        Object.keys(node).forEach(function (k) { delete node[k]; });
        Object.assign(node, keep, v === "update" ? { mode: "update", assignments: [] }
          : { mode: "http", url: "", method: "POST", fields: [], timeout: 10, result: node.id + "_response", onError: "fail" });
      });
    }, { name: "trigger-mode" });
    if (node.mode === "update") {
      node.assignments.forEach(function (a, i) {
        var box = el("div", { className: "border rounded p-2 mb-2" });
        var f = fieldInfo(a.field);
        input(box, "字段名", a.field, function (v) { change(function () { a.field = v.trim(); }); }, { name: "assign-field-" + i, list: "dd-fields" });
        input(box, "新值", a.value, function (v) { change(function () { a.value = typed(v, f); }, { panel: false }); }, { name: "assign-value-" + i });
        var del = el("button", { type: "button", className: "btn btn-sm btn-link text-danger p-0" }, "删除");
        del.addEventListener("click", function () { change(function () { node.assignments.splice(i, 1); }); });
        box.appendChild(del);
        body.appendChild(box);
      });
      if (!document.getElementById("dd-fields")) {
        var list = el("datalist", { id: "dd-fields" });
        startFields().forEach(function (f) { list.appendChild(el("option", { value: f.name }, f.title)); });
        root.appendChild(list);
      }
      var add = el("button", { type: "button", className: "btn btn-sm btn-outline-primary" }, "添加字段");
      add.addEventListener("click", function () { change(function () { node.assignments.push({ field: "", value: "" }); }); });
      body.appendChild(add);
      return;
    }
    input(body, "接口地址", node.url, function (v) { change(function () { node.url = v.trim(); }, { panel: false }); }, { name: "http-url", placeholder: "https://…", help: "只允许 http/https；不跟随重定向" });
    selectBox(body, "请求方式", node.method, [["POST", "POST"], ["PUT", "PUT"], ["GET", "GET"]], function (v) { change(function () { node.method = v; }, { panel: false }); }, { name: "http-method" });
    checks(body, "发送的字段（JSON）", startFields().map(function (f) { return [f.name, f.title]; }), node.fields, function (now) {
      change(function () { node.fields = now; }, { panel: false });
    }, "http-fields");
    input(body, "超时（秒，1～30）", node.timeout, function (v) { change(function () { node.timeout = parseInt(v, 10) || 10; }, { panel: false }); }, { type: "number", min: 1, max: 30, name: "http-timeout" });
    input(body, "结果保存到字段", node.result, function (v) { change(function () { node.result = v.trim(); }, { panel: false }); }, { name: "http-result" });
    selectBox(body, "调用失败时", node.onError, [["fail", "流程暂停并记为异常"], ["continue", "记录失败，继续流转"]], function (v) {
      change(function () { node.onError = v; }, { panel: false });
    }, { name: "http-onError" });
  }

  function subprocessPanel(body, node) {
    selectBox(body, "调用的流程", node.process, [["", "（请选择已部署的流程）"]].concat(catalog.processes.map(function (p) { return [p.id, p.name + "（" + p.id + "）"]; })),
      function (v) { change(function () { node.process = v; }, { panel: false }); }, { name: "subprocess" });
    body.appendChild(el("p", { className: "small text-muted" }, "子流程运行完后回到本流程继续；流程数据双向传递。"));
  }

  // ------------------------------------------------------------------------------------------
  // server actions

  function setProblems(list) {
    problems = {};
    problemList.textContent = "";
    (list || []).forEach(function (p) {
      var key = p.node_id || tree.start.id;
      (problems[key] = problems[key] || []).push(p);
      var item = el("li", { className: "list-group-item list-group-item-action py-1 small list-group-item-" + (p.severity === "error" ? "danger" : "warning"), role: "button", "data-problem-node": key });
      item.textContent = (p.severity === "error" ? "错误：" : "提示：") + p.message + (p.element_id && p.element_id !== p.node_id ? "（" + p.element_id + "）" : "");
      item.addEventListener("click", function () {
        var found = findNode(key);
        select(found && found.branch ? "branch" : (key === tree.start.id ? "start" : "node"), key);
        var target = canvas.querySelector('[data-node-id="' + key + '"]');
        if (target) { target.scrollIntoView({ block: "center", inline: "center" }); }
      });
      problemList.appendChild(item);
    });
    problemList.classList.toggle("d-none", !(list && list.length));
    renderCanvas();
    renderPanel();
  }

  function busy(button, on) { if (button) { button.disabled = on; } }

  function saved(pid) {
    isNew = false;
    dirty = false;
    var badge = document.getElementById("designer-badge");
    if (badge) { badge.textContent = "草稿"; badge.className = "badge text-bg-info"; }
    if (config.urls.edit && pid) { window.history.replaceState(null, "", config.urls.edit.replace("__pid__", encodeURIComponent(pid))); }
    if (selected.kind === "start") { renderPanel(); }  // the process id is fixed from now on
  }

  function validate() {
    var button = document.getElementById("btn-validate");
    busy(button, true);
    post(config.urls.validate, { tree: tree, "new": isNew }).then(function (data) {
      busy(button, false);
      if (data.problems) { setProblems(data.problems); }
      if (data.ok) { show("success", "校验通过，可以部署" + (data.problems.length ? "（有 " + data.problems.length + " 条提示）" : "")); }
      else { show("danger", data.message || ("有 " + data.errors + " 个错误，请按提示修改")); }
    });
  }

  function save() {
    var button = document.getElementById("btn-save");
    busy(button, true);
    post(config.urls.save, { tree: tree, "new": isNew }).then(function (data) {
      busy(button, false);
      if (!data.ok) { show("danger", data.message || "保存失败"); return; }
      saved(data.process_id);
      statusText.textContent = "草稿已保存 " + new Date().toLocaleTimeString();
      show("success", data.message);
    });
  }

  function deploy() {
    var button = document.getElementById("btn-deploy");
    busy(button, true);
    var comment = document.getElementById("deploy-comment").value;
    post(config.urls.deploy, { tree: tree, "new": isNew, comment: comment }).then(function (data) {
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
      statusText.textContent = "已部署";
      show("success", data.message + "。", { href: data.start_url, text: "去发起", id: "designer-start-link" });
    });
  }

  function showXml() {
    post(config.urls.compile, { tree: tree, "new": isNew }).then(function (data) {
      if (!data.ok) { show("danger", data.message || "生成 BPMN 失败"); return; }
      document.getElementById("designer-xml").textContent = data.bpmn;
      document.getElementById("designer-xml-card").classList.remove("d-none");
    });
  }

  function openModeler() {
    if (dirty && !window.confirm("将把当前设计保存为草稿，并在 BPMN 编辑器中打开。继续吗？")) { return; }
    post(config.urls.modeler, { tree: tree, "new": isNew }).then(function (data) {
      if (!data.ok) { show("danger", data.message || "无法打开 BPMN 编辑器"); return; }
      dirty = false;
      window.location.href = data.url;
    });
  }

  // ------------------------------------------------------------------------------------------
  // wiring

  document.getElementById("btn-undo").addEventListener("click", undo);
  document.getElementById("btn-validate").addEventListener("click", validate);
  document.getElementById("btn-save").addEventListener("click", save);
  document.getElementById("btn-deploy").addEventListener("click", deploy);
  document.getElementById("btn-xml").addEventListener("click", showXml);
  document.getElementById("btn-xml-close").addEventListener("click", function () {
    document.getElementById("designer-xml-card").classList.add("d-none");
  });
  var modeler = document.getElementById("btn-modeler");
  if (config.urls.modeler) {
    modeler.classList.remove("d-none");
    modeler.addEventListener("click", openModeler);
  }
  document.addEventListener("click", closeMenus);
  document.addEventListener("keydown", function (evt) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test((evt.target && evt.target.tagName) || "");
    if ((evt.ctrlKey || evt.metaKey) && evt.key === "z" && !typing) { evt.preventDefault(); undo(); }
    if (evt.key === "Escape") { closeMenus(); }
    if (evt.key === "Enter" && evt.target && evt.target.classList && evt.target.classList.contains("dd-node")) { evt.target.click(); }
  });
  window.addEventListener("beforeunload", function (evt) {
    if (dirty) { evt.preventDefault(); evt.returnValue = ""; }
  });
  renderCanvas();
  renderPanel();
})();
