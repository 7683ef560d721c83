// Changes with undo, selection, new nodes and the summaries shown on the cards.
import { S, METHODS } from "./state.js";
import { fieldInfo, findNode, newId, roleName, show, splitList, startFields, userName } from "./util.js";
import { renderCanvas } from "./canvas.js";
import { renderPanel } from "./panel.js";

export function change(fn, options) {
  S.history.push(JSON.stringify(S.tree));
  if (S.history.length > 100) { S.history.shift(); }
  fn();
  S.dirty = true;
  S.statusText.textContent = "有未保存的修改";
  document.getElementById("btn-undo").disabled = false;
  renderCanvas();
  if (!options || options.panel !== false) { renderPanel(); }
}

export function undo() {
  if (!S.history.length) { return; }
  S.tree = JSON.parse(S.history.pop());
  document.getElementById("btn-undo").disabled = S.history.length === 0;
  if (S.selected.kind !== "start" && S.selected.kind !== "end" && !findNode(S.selected.id)) {
    S.selected = { kind: "start", id: S.tree.start.id };
  }
  S.dirty = true;
  S.statusText.textContent = "已撤销";
  renderCanvas();
  renderPanel();
}

export function select(kind, id) {
  S.selected = { kind: kind, id: id };
  renderCanvas();
  renderPanel();
}

// ------------------------------------------------------------------------------------------
// new nodes

export function defaultProps(kind) {
  var props = { assignee: kind === "approval" ? "leader" : "initiator" };
  if (kind === "approval") { props.method = "single"; props.rejectPolicy = "end"; }
  if (S.tree.start.form) {
    props.formJsonSchemaFilename = S.tree.start.form;
    var ui = S.tree.start.form.replace(".schema.json", ".uischema.json");
    if (S.catalog.uiForms.indexOf(ui) >= 0) { props.formUiSchemaFilename = ui; }
    var perms = startFields().map(function (f) { return f.name + ":readonly"; });
    if (perms.length) { props.fieldPermissions = perms.join(","); }
  }
  return props;
}

export function conditionBranch(name) {
  return { id: newId("flow"), name: name, condition: { match: "all", rules: [] }, nodes: [] };
}

export function makeNode(kind) {
  var node = { id: newId("node"), type: kind, name: S.config.nodeTypes[kind] };
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

export function renewIds(node) {
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

export function assigneeText(rule) {
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

export function ruleText(rule) {
  var f = fieldInfo(rule.field);
  var label = f ? f.title : rule.field;
  var value = rule.value;
  if (f && f.options && f.options.length) {
    var show = function (v) { var o = f.options.filter(function (x) { return x[0] === v; })[0]; return o ? o[1] : v; };
    value = Array.isArray(value) ? value.map(show) : show(value);
  }
  if (Array.isArray(value)) { value = value.join("、"); }
  var op = S.config.operators[rule.op] || rule.op;
  if (rule.op === "empty" || rule.op === "not_empty") { return label + " " + op; }
  return label + " " + op + " " + value;
}

export function conditionText(branch, node) {
  if (node.type === "parallel") { return "与其他分支同时进行"; }
  var c = branch.condition;
  if (!c) { return "其他条件都不满足时进入此分支"; }
  if (c.expression !== undefined) { return "表达式：" + (c.expression || "（未填写）"); }
  if (!c.rules.length) { return "请设置条件"; }
  return c.rules.map(ruleText).join(c.match === "any" ? " 或 " : " 且 ");
}

export function summary(node) {
  var p = node.props || {};
  switch (node.type) {
    case "approval":
      var method = METHODS.filter(function (m) { return (p.method || "single").indexOf(m[0]) === 0; })[0];
      return assigneeText(p.assignee) + (method && method[0] !== "single" ? " · " + method[1] : "");
    case "task": return assigneeText(p.assignee);
    case "cc": return node.users.length ? "抄送：" + node.users.map(userName).join("、") : "请选择抄送人";
    case "delay": return "等待 " + node.amount + " " + (S.config.delayUnits[node.unit] || node.unit);
    case "trigger":
      if (node.mode === "update") {
        return node.assignments.length ? "更新：" + node.assignments.map(function (a) { return a.field + " = " + a.value; }).join("，") : "请设置要更新的字段";
      }
      return node.url ? node.method + " " + node.url : "请设置调用地址";
    case "subprocess":
      var proc = S.catalog.processes.filter(function (x) { return x.id === node.process; })[0];
      return node.process ? "调用：" + (proc ? proc.name : node.process) : "请选择要调用的流程";
    default: return "";
  }
}
