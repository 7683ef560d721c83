// Side panels of branches (conditions and rules), delays, triggers and subprocesses.
import { S } from "./state.js";
import { addBranch } from "./canvas.js";
import { change } from "./model.js";
import { checks, input, selectBox } from "./controls.js";
import { el, fieldInfo, splitList, startFields, typed } from "./util.js";

export function branchNodePanel(body, node) {
  body.appendChild(el("p", { className: "small text-muted" }, node.type === "parallel"
    ? "各分支同时进行，全部完成后汇合。" : node.type === "inclusive"
      ? "满足条件的分支都会进行（可以多个），全部完成后汇合；都不满足时进入“其他情况”。"
      : "按优先级判断，进入第一个满足条件的分支；都不满足时进入“其他情况”。"));
  var add = el("button", { type: "button", className: "btn btn-sm btn-outline-primary" }, node.type === "parallel" ? "添加分支" : "添加条件");
  add.addEventListener("click", function () { change(function () { addBranch(node); }); });
  body.appendChild(add);
}

export function branchPanel(body, node, branch) {
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

export function ruleEditor(body, c, rule, i) {
  var box = el("div", { className: "dd-rule border rounded p-2 mb-2", "data-rule-index": i });
  var fields = startFields().map(function (f) { return [f.name, f.title]; });
  selectBox(box, "字段", rule.field, [["", "（请选择）"]].concat(fields), function (v) {
    change(function () { rule.field = v; });
  }, { name: "rule-field-" + i });
  selectBox(box, "比较", rule.op, Object.keys(S.config.operators).map(function (k) { return [k, S.config.operators[k]]; }), function (v) {
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

export function delayPanel(body, node) {
  input(body, "时长", node.amount, function (v) { change(function () { node.amount = parseInt(v, 10) || 1; }, { panel: false }); }, { type: "number", min: 1, name: "delay-amount" });
  selectBox(body, "单位", node.unit, Object.keys(S.config.delayUnits).map(function (k) { return [k, S.config.delayUnits[k]]; }),
    function (v) { change(function () { node.unit = v; }, { panel: false }); }, { name: "delay-unit", help: "工作日按工作日历计算（节假日顺延）" });
}

export function triggerPanel(body, node) {
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
      S.root.appendChild(list);
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

export function subprocessPanel(body, node) {
  selectBox(body, "调用的流程", node.process, [["", "（请选择已部署的流程）"]].concat(S.catalog.processes.map(function (p) { return [p.id, p.name + "（" + p.id + "）"]; })),
    function (v) { change(function () { node.process = v; }, { panel: false }); }, { name: "subprocess" });
  body.appendChild(el("p", { className: "small text-muted" }, "子流程运行完后回到本流程继续；流程数据双向传递。"));
}
