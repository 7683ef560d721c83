// The side panel: start, approval/task (assignee, people, method, policies), cc.
import { S, ICONS, ASSIGNEE_KINDS, METHODS, NO_APPROVER, ON_INITIATOR, AUTO_PASS, TIMEOUT, BUTTONS, PERMS } from "./state.js";
import { branchNodePanel, branchPanel, delayPanel, subprocessPanel, triggerPanel } from "./branches.js";
import { card } from "./canvas.js";
import { change } from "./model.js";
import { checks, ensureDatalists, heading, input, selectBox } from "./controls.js";
import { eachNode, el, findNode, icon, splitList, startFields, userName } from "./util.js";

export function renderPanel() {
  S.panel.textContent = "";
  var head = el("div", { className: "card-header d-flex align-items-center gap-2" });
  var body = el("div", { className: "card-body dd-panel-body" });
  S.panel.appendChild(head);
  S.panel.appendChild(body);
  if (S.selected.kind === "start") {
    head.appendChild(icon(ICONS.start));
    head.appendChild(el("span", {}, "发起人与流程信息"));
    startPanel(body);
    return;
  }
  var found = findNode(S.selected.id);
  if (!found) { head.textContent = "请选择一个节点"; return; }
  if (found.branch) {
    head.appendChild(icon(ICONS.condition));
    head.appendChild(el("span", {}, found.node.type === "parallel" ? "分支设置" : "条件设置"));
    branchPanel(body, found.node, found.branch);
    return;
  }
  var node = found.node;
  head.appendChild(icon(ICONS[node.type]));
  head.appendChild(el("span", {}, S.config.nodeTypes[node.type] + "设置"));
  input(body, "节点名称", node.name, function (v) { change(function () { node.name = v.trim() || S.config.nodeTypes[node.type]; }, { panel: false }); }, { name: "name" });
  ({ approval: peoplePanel, task: peoplePanel, cc: ccPanel, condition: branchNodePanel, inclusive: branchNodePanel,
    parallel: branchNodePanel, delay: delayPanel, trigger: triggerPanel, subprocess: subprocessPanel })[node.type](body, node);
  (S.problems[node.id] || []).forEach(function (p) {
    body.appendChild(el("div", { className: "alert py-1 px-2 small alert-" + (p.severity === "error" ? "danger" : "warning") }, p.message));
  });
}

export function startPanel(body) {
  input(body, "流程名称", S.tree.process.name, function (v) {
    change(function () { S.tree.process.name = v.trim(); document.getElementById("designer-title").textContent = v.trim() || "新流程"; }, { panel: false });
  }, { name: "process-name" });
  input(body, "流程编号", S.tree.process.id, function (v) {
    change(function () { S.tree.process.id = v.trim(); document.getElementById("designer-pid").textContent = v.trim(); }, { panel: false });
  }, { name: "process-id", disabled: !S.isNew, placeholder: "如 leave_request", help: S.isNew ? "字母开头，只含字母、数字、下划线；保存后不能修改" : "已保存的流程不能修改 id" });
  input(body, "分类", S.tree.process.props.category, function (v) { setProp(S.tree.process.props, "category", v); }, { name: "category" });
  input(body, "标题规则", S.tree.process.props.titleRule, function (v) { setProp(S.tree.process.props, "titleRule", v); },
    { name: "titleRule", placeholder: "{subject}", help: "用 {字段名} 引用发起表单的字段" });
  input(body, "编号规则", S.tree.process.props.numberRule, function (v) { setProp(S.tree.process.props, "numberRule", v); },
    { name: "numberRule", placeholder: "SP{yyyy}{MM}{dd}{seq:4}" });
  heading(body, "谁可以发起");
  checks(body, "可发起的角色（不选则所有有发起权限的人均可发起）", S.catalog.roles.map(function (r) { return [r.code, r.name]; }),
    S.tree.start.roles, function (now) { change(function () { S.tree.start.roles = now; }, { panel: false }); }, "start-roles");
  var formOptions = [["", "（不需要发起表单）"]].concat(Object.keys(S.catalog.forms).sort().map(function (k) { return [k, S.catalog.forms[k].title + "（" + k + "）"]; }));
  selectBox(body, "发起表单", S.tree.start.form, formOptions, function (v) { change(function () { S.tree.start.form = v; }); }, { name: "start-form" });
}

export function setProp(props, key, value, panelToo) {
  change(function () {
    value = String(value === undefined || value === null ? "" : value).trim();
    if (value === "") { delete props[key]; } else { props[key] = value; }
  }, { panel: !!panelToo });
}

export function assigneeControls(body, node) {
  var p = node.props;
  var rule = p.assignee || "";
  var kind = rule.split(":")[0] || "";
  var arg = rule.slice(kind.length + 1);
  var who = node.type === "approval" ? "审批人" : "办理人";
  selectBox(body, who, kind, [["", "（请选择）"]].concat(ASSIGNEE_KINDS), function (v) {
    var defaults = { leader: "leader", leader_up: "leader_up:1", role: "role:" + (S.catalog.roles[0] ? S.catalog.roles[0].code : ""),
      users: "users:", initiator: "initiator", field: "field:", expr: "expr:" };
    setProp(p, "assignee", defaults[v] || "", true);
  }, { name: "assignee-kind" });
  if (kind === "leader_up") {
    input(body, "向上级数", arg || "1", function (v) { setProp(p, "assignee", "leader_up:" + (parseInt(v, 10) || 1)); }, { type: "number", min: 1, max: 5, name: "assignee-levels" });
  } else if (kind === "role") {
    selectBox(body, "角色", arg, S.catalog.roles.map(function (r) { return [r.code, r.name]; }), function (v) { setProp(p, "assignee", "role:" + v); }, { name: "assignee-role" });
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

export function peoplePanel(body, node) {
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
    eachNode(S.tree.nodes, function (n) { if ((n.type === "approval" || n.type === "task") && n.id !== node.id) { targets.push(["return:" + n.id, "退回到「" + n.name + "」"]); } });
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
  input(body, "办理说明", p.instructions, function (v) { setProp(p, "instructions", v.trim()); }, { textarea: true, name: "instructions", help: "显示在任务表单上方，告诉办理人要做什么" });
  heading(body, "期限");
  input(body, "办理期限（工作日）", p.dueWorkingDays, function (v) { setProp(p, "dueWorkingDays", v); }, { type: "number", min: 1, name: "dueWorkingDays" });
  selectBox(body, "超时后", p.timeoutAction || "none", approval ? TIMEOUT : [TIMEOUT[0], TIMEOUT[3]], function (v) { setProp(p, "timeoutAction", v === "none" ? "" : v); }, { name: "timeoutAction" });
  heading(body, "表单与字段权限");
  var formOptions = [["", "（不显示表单）"]].concat(Object.keys(S.catalog.forms).sort().map(function (k) { return [k, S.catalog.forms[k].title + "（" + k + "）"]; }));
  selectBox(body, "表单", p.formJsonSchemaFilename || "", formOptions, function (v) {
    change(function () {
      if (!v) { delete p.formJsonSchemaFilename; delete p.formUiSchemaFilename; delete p.fieldPermissions; return; }
      p.formJsonSchemaFilename = v;
      var ui = v.replace(".schema.json", ".uischema.json");
      if (S.catalog.uiForms.indexOf(ui) >= 0) { p.formUiSchemaFilename = ui; } else { delete p.formUiSchemaFilename; }
      delete p.fieldPermissions;
    });
  }, { name: "form" });
  var form = S.catalog.forms[p.formJsonSchemaFilename];
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
    "formJsonSchemaFilename", "formUiSchemaFilename", "fieldPermissions", "orgField", "reasonRequired", "buttons", "signature", "instructions"];
  var others = Object.keys(p).filter(function (k) { return known.indexOf(k) < 0; });
  if (others.length) {
    heading(body, "其他属性（在 BPMN 编辑器中修改）");
    var list = el("ul", { className: "small text-muted ps-3" });
    others.forEach(function (k) { list.appendChild(el("li", {}, k + " = " + p[k])); });
    body.appendChild(list);
  }
}

export function ccPanel(body, node) {
  ensureDatalists();
  input(body, "抄送人员（登录名，多人用逗号分隔）", node.users.join(","), function (v) {
    change(function () { node.users = splitList(v); }, { panel: false });
  }, { list: "dd-users", name: "cc-users", help: node.users.map(function (u) { return u + " " + userName(u); }).join("、") || null });
  input(body, "抄送说明", node.note, function (v) { change(function () { node.note = v.trim(); }, { panel: false }); }, { name: "cc-note" });
}
