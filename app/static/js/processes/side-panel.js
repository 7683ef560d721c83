// The side panel of the BPMN editor: what the Ducha runtime reads on the selected element.
// Plain DOM; every change goes through bpmn-js `modeling`, so it is undoable and marks the draft dirty.
(function () {
  "use strict";
  var el = function (tag, attrs, text) { return window.DuchaEditor.el(tag, attrs, text); };

  var TYPE_LABELS = {
    "bpmn:Process": "流程", "bpmn:Participant": "池", "bpmn:Lane": "泳道", "bpmn:SequenceFlow": "顺序流",
    "bpmn:UserTask": "用户任务", "bpmn:ManualTask": "人工任务", "bpmn:Task": "任务", "bpmn:ScriptTask": "脚本任务",
    "bpmn:ServiceTask": "服务任务", "bpmn:BusinessRuleTask": "业务规则任务", "bpmn:CallActivity": "调用活动",
    "bpmn:SubProcess": "子流程", "bpmn:StartEvent": "开始事件", "bpmn:EndEvent": "结束事件",
    "bpmn:IntermediateCatchEvent": "中间捕获事件", "bpmn:IntermediateThrowEvent": "中间抛出事件",
    "bpmn:BoundaryEvent": "边界事件", "bpmn:ExclusiveGateway": "排他网关", "bpmn:InclusiveGateway": "包容网关",
    "bpmn:ParallelGateway": "并行网关", "bpmn:EventBasedGateway": "事件网关", "bpmn:SendTask": "发送任务",
    "bpmn:ReceiveTask": "接收任务", "bpmn:MessageFlow": "消息流", "bpmn:TextAnnotation": "注释"
  };

  // spiffworkflow:properties of user tasks (app/engine/nodes.py), in the order shown.
  var NODE_PROPS = [
    { key: "formJsonSchemaFilename", label: "表单文件", list: "forms-schema" },
    { key: "formUiSchemaFilename", label: "表单界面文件", list: "forms-ui" },
    { key: "kind", label: "节点类型", options: [["", "（默认：提交）"], ["task", "办理（提交）"], ["approval", "审批（通过/拒绝）"]] },
    { key: "assignee", label: "办理人", placeholder: "默认按泳道角色；role:代码、leader、users:a,b、field:字段、initiator、expr:表达式" },
    { key: "method", label: "多人审批方式", list: "methods", placeholder: "single、all（会签）、any（或签）、sequential、ratio:60" },
    { key: "dueWorkingDays", label: "办理时限（工作日）", type: "number" },
    { key: "dueDays", label: "办理时限（自然日）", type: "number" },
    { key: "reasonRequired", label: "必须填写意见", placeholder: "approve,reject" },
    { key: "rejectPolicy", label: "拒绝后", list: "reject-policies", placeholder: "continue、terminate、return:initiator、return:步骤id" },
    { key: "buttons", label: "按钮", placeholder: "approve:通过,reject:拒绝,return:退回" }
  ];
  var MORE_PROPS = [
    { key: "orgField", label: "所属机构字段" },
    { key: "onNoApprover", label: "无审批人时", list: "no-approver", placeholder: "admin、auto_approve、auto_reject、user:登录名" },
    { key: "onInitiator", label: "审批人是发起人时", options: [["", "（默认：本人审批）"], ["self", "本人审批"], ["skip", "跳过"], ["leader", "交给领导"]] },
    { key: "autoPass", label: "自动通过", options: [["", "（默认：从不）"], ["never", "从不"], ["consecutive", "连续审批时"], ["always", "审批过即通过"]] },
    { key: "remindTimes", label: "催办次数", type: "number" },
    { key: "timeoutAction", label: "超时处理", options: [["", "（默认：无）"], ["none", "无"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"], ["escalate", "升级"]] },
    { key: "fieldPermissions", label: "字段权限", placeholder: "字段:readonly|edit|hidden, …" },
    { key: "returnDirect", label: "退回后直接回到本节点", options: [["", "否"], ["true", "是"]] },
    { key: "signature", label: "手写签名", options: [["", "否"], ["true", "是"]] },
    { key: "priority", label: "优先级", options: [["", "（默认：普通）"], ["1", "高"], ["2", "普通"], ["3", "低"]] }
  ];
  var PROCESS_PROPS = [
    { key: "category", label: "分类" },
    { key: "numberRule", label: "编号规则", placeholder: "XS{yyyy}{MM}{dd}{seq:4}" },
    { key: "titleRule", label: "标题规则", placeholder: "{enterprise_name}线索核查" },
    { key: "summaryFields", label: "摘要字段", placeholder: "subject,amount" },
    { key: "startRoles", label: "可发起的角色", placeholder: "district_officer,street_officer" },
    { key: "startForm", label: "发起表单", list: "forms-schema" }
  ];
  var KNOWN = {};
  NODE_PROPS.concat(MORE_PROPS, PROCESS_PROPS).forEach(function (p) { KNOWN[p.key] = true; });

  function SidePanel(modeler, container, config, onRendered) {
    this.modeler = modeler;
    this.container = container;
    this.config = config;
    this.onRendered = onRendered;
    this.element = null;
    this.modeling = modeler.get("modeling");
    this.moddle = modeler.get("moddle");
    this.registry = modeler.get("elementRegistry");
    this.canvas = modeler.get("canvas");
    var self = this;
    modeler.on("selection.changed", function (evt) {
      self.show(evt.newSelection.length === 1 ? evt.newSelection[0] : null);
    });
    modeler.on("commandStack.changed", function () {
      if (!self.container.contains(document.activeElement)) { self.show(self.element); }
    });
    this.datalists();
  }

  SidePanel.prototype.datalists = function () {
    var lists = {
      "forms-schema": this.config.forms.filter(function (f) { return !/\.uischema\.json$/.test(f); }),
      "forms-ui": this.config.forms.filter(function (f) { return /\.uischema\.json$/.test(f); }),
      "decisions": this.config.decisions,
      "services": this.config.services,
      "roles": this.config.roles.map(function (r) { return r.code; }),
      "methods": ["single", "all", "any", "sequential", "ratio:60"],
      "reject-policies": ["continue", "terminate", "return:initiator"],
      "no-approver": ["admin", "auto_approve", "auto_reject"]
    };
    Object.keys(lists).forEach(function (id) {
      var list = el("datalist", { id: "dl-" + id });
      lists[id].forEach(function (value) { list.appendChild(el("option", { value: value })); });
      document.body.appendChild(list);
    });
  };

  SidePanel.prototype.roleName = function (code) {
    var role = this.config.roles.filter(function (r) { return r.code === code; })[0];
    return role ? role.name : null;
  };

  // -- moddle helpers ------------------------------------------------------------------------
  SidePanel.prototype.ext = function (bo, type) {
    var ee = bo.get("extensionElements");
    if (!ee) { return null; }
    return (ee.get("values") || []).filter(function (v) { return v.$type === type; })[0] || null;
  };

  SidePanel.prototype.ensureExt = function (element, bo, type, attrs) {
    var ee = bo.get("extensionElements");
    if (!ee) {
      ee = this.moddle.create("bpmn:ExtensionElements", { values: [] });
      ee.$parent = bo;
      this.modeling.updateModdleProperties(element, bo, { extensionElements: ee });
    }
    var found = this.ext(bo, type);
    if (!found) {
      found = this.moddle.create(type, attrs || {});
      found.$parent = ee;
      this.modeling.updateModdleProperties(element, ee, { values: (ee.get("values") || []).concat([found]) });
    }
    return found;
  };

  SidePanel.prototype.removeExt = function (element, bo, type) {
    var ee = bo.get("extensionElements");
    var found = this.ext(bo, type);
    if (ee && found) {
      this.modeling.updateModdleProperties(element, ee, { values: ee.get("values").filter(function (v) { return v !== found; }) });
    }
  };

  SidePanel.prototype.getProp = function (bo, name) {
    var props = this.ext(bo, "spiffworkflow:Properties");
    var found = props ? (props.get("properties") || []).filter(function (p) { return p.name === name; })[0] : null;
    return found ? found.value || "" : "";
  };

  SidePanel.prototype.setProp = function (element, bo, name, value) {
    value = (value || "").trim();
    var props = this.ext(bo, "spiffworkflow:Properties");
    if (!props && !value) { return; }
    props = props || this.ensureExt(element, bo, "spiffworkflow:Properties", { properties: [] });
    var list = props.get("properties") || [];
    var found = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) { this.modeling.updateModdleProperties(element, props, { properties: list.filter(function (p) { return p !== found; }) }); }
    } else if (found) {
      this.modeling.updateModdleProperties(element, found, { value: value });
    } else {
      var prop = this.moddle.create("spiffworkflow:Property", { name: name, value: value });
      prop.$parent = props;
      this.modeling.updateModdleProperties(element, props, { properties: list.concat([prop]) });
    }
  };

  SidePanel.prototype.setBody = function (element, bo, type, value) {
    value = (value || "").trim();
    if (!value) { this.removeExt(element, bo, type); return; }
    var found = this.ext(bo, type);
    if (found) { this.modeling.updateModdleProperties(element, found, { value: value }); }
    else { this.ensureExt(element, bo, type, { value: value }); }
  };

  // -- rendering ------------------------------------------------------------------------------
  SidePanel.prototype.field = function (box, label, value, onChange, opts) {
    opts = opts || {};
    var id = "sp-" + Math.random().toString(36).slice(2, 9);
    var group = el("div", { className: "mb-2" });
    group.appendChild(el("label", { className: "form-label small mb-0", "for": id }, label));
    var input;
    if (opts.options) {
      input = el("select", { className: "form-select form-select-sm", id: id });
      var known = false;
      opts.options.forEach(function (o) {
        var option = el("option", { value: o[0] }, o[1]);
        if (o[0] === value) { option.selected = true; known = true; }
        input.appendChild(option);
      });
      if (!known && value) { var extra = el("option", { value: value }, value); extra.selected = true; input.appendChild(extra); }
    } else if (opts.multiline) {
      input = el("textarea", { className: "form-control form-control-sm font-monospace", id: id, rows: opts.rows || 4, spellcheck: "false" });
      input.value = value || "";
    } else {
      input = el("input", { className: "form-control form-control-sm", id: id, type: opts.type || "text" });
      input.value = value || "";
      if (opts.list) { input.setAttribute("list", "dl-" + opts.list); }
    }
    if (opts.placeholder) { input.setAttribute("placeholder", opts.placeholder); }
    if (opts.name) { input.setAttribute("name", opts.name); }
    if (opts.readonly) { input.readOnly = true; input.disabled = input.tagName === "SELECT"; }
    input.addEventListener("change", function () { onChange(input.value); });
    group.appendChild(input);
    if (opts.help) { group.appendChild(el("div", { className: "form-text small" }, opts.help)); }
    box.appendChild(group);
    return input;
  };

  SidePanel.prototype.section = function (title, collapsed) {
    var details = el("details", { className: "panel-section" });
    if (!collapsed) { details.open = true; }
    details.appendChild(el("summary", { className: "small fw-semibold" }, title));
    this.container.appendChild(details);
    return details;
  };

  SidePanel.prototype.laneOf = function (bo) {
    var lanes = this.registry.filter(function (e) { return e.type === "bpmn:Lane"; });
    for (var i = 0; i < lanes.length; i++) {
      var refs = lanes[i].businessObject.get("flowNodeRef") || [];
      if (refs.indexOf(bo) >= 0) { return lanes[i].businessObject; }
    }
    return null;
  };

  SidePanel.prototype.show = function (element) {
    this.element = element;
    this.container.textContent = "";
    var root = this.canvas.getRootElement();
    var target = element || root;
    if (!target || !target.businessObject) {
      this.container.appendChild(el("p", { className: "text-muted small" }, "选中一个元素"));
      return;
    }
    var bo = target.businessObject;
    var type = bo.$type;
    var self = this;
    var head = el("div", { className: "mb-2" });
    head.appendChild(el("span", { className: "badge text-bg-secondary me-1" }, TYPE_LABELS[type] || type.replace("bpmn:", "")));
    head.appendChild(el("code", { className: "small", id: "sp-element-id" }, bo.id));
    this.container.appendChild(head);

    if (type !== "bpmn:Collaboration") {
      this.field(this.container, type === "bpmn:Lane" ? "名称（角色代码）" : "名称", bo.name, function (v) {
        if (target === root) { self.modeling.updateModdleProperties(target, bo, { name: v }); }
        else { self.modeling.updateLabel(target, v); }
      }, {
        name: "name",
        list: type === "bpmn:Lane" ? "roles" : null,
        help: type === "bpmn:Lane" ? "泳道名即角色代码，待办派给持有该角色、且数据范围包含实例所属机构的人员" +
          (self.roleName(bo.name) ? "（" + self.roleName(bo.name) + "）" : "") : null
      });
    }
    if (/Task$|^bpmn:(CallActivity|SubProcess|.*Event|.*Gateway)$/.test(type) && type !== "bpmn:Lane") {
      var lane = this.laneOf(bo);
      var text = lane ? lane.name + (self.roleName(lane.name) ? "（" + self.roleName(lane.name) + "）" : "") : "（无泳道）";
      this.field(this.container, "泳道", text, function () {}, { readonly: true, help: "拖到其他泳道即可更改" });
    }
    if (type === "bpmn:UserTask" || type === "bpmn:ManualTask" || type === "bpmn:Task") { this.nodeProps(target, bo); }
    if (type === "bpmn:ScriptTask") {
      this.field(this.container, "脚本（Python，受限环境）", bo.script, function (v) {
        self.modeling.updateProperties(target, { script: v, scriptFormat: bo.scriptFormat || "python" });
      }, { multiline: true, rows: 8, name: "script", help: "脚本中赋值的顶层变量会写入流程数据；临时变量请 del" });
    }
    if (type === "bpmn:SequenceFlow") { this.flowProps(target, bo); }
    if (type === "bpmn:BusinessRuleTask") {
      var decision = this.ext(bo, "spiffworkflow:CalledDecisionId");
      this.field(this.container, "调用的决策（calledDecisionId）", decision ? decision.value : "", function (v) {
        self.setBody(target, bo, "spiffworkflow:CalledDecisionId", v);
      }, { list: "decisions", name: "calledDecisionId", help: "本工作区的 DMN 决策 id" });
    }
    if (type === "bpmn:ServiceTask") { this.serviceProps(target, bo); }
    (bo.get("eventDefinitions") || []).forEach(function (def) {
      if (def.$type === "bpmn:TimerEventDefinition") { self.timerProps(target, def); }
    });
    if (type === "bpmn:CallActivity") {
      this.field(this.container, "被调用的流程 id", bo.calledElement, function (v) {
        self.modeling.updateProperties(target, { calledElement: v || undefined });
      }, { name: "calledElement" });
    }
    if (/Task$|^bpmn:(CallActivity|SubProcess)$/.test(type)) {
      var more = this.section("前置 / 后置脚本", true);
      ["PreScript", "PostScript"].forEach(function (kind) {
        var found = self.ext(bo, "spiffworkflow:" + kind);
        self.field(more, kind === "PreScript" ? "前置脚本" : "后置脚本", found ? found.value : "", function (v) {
          self.setBody(target, bo, "spiffworkflow:" + kind, v);
        }, { multiline: true, rows: 3 });
      });
    }
    var process = type === "bpmn:Participant" ? bo.processRef : (type === "bpmn:Process" ? bo : null);
    if (!element && type === "bpmn:Collaboration") {
      var first = (bo.participants || []).filter(function (p) { return p.processRef; })[0];
      process = first ? first.processRef : null;
    }
    if (process) { this.processProps(target, process); }
    if (this.onRendered) { this.onRendered(target); }
  };

  SidePanel.prototype.nodeProps = function (element, bo) {
    var self = this;
    var box = this.section("办理设置（spiffworkflow:properties）");
    NODE_PROPS.forEach(function (p) {
      self.field(box, p.label, self.getProp(bo, p.key), function (v) { self.setProp(element, bo, p.key, v); },
        { list: p.list, options: p.options, placeholder: p.placeholder, type: p.type, name: p.key });
    });
    var more = this.section("更多设置", true);
    MORE_PROPS.forEach(function (p) {
      self.field(more, p.label, self.getProp(bo, p.key), function (v) { self.setProp(element, bo, p.key, v); },
        { list: p.list, options: p.options, placeholder: p.placeholder, type: p.type, name: p.key });
    });
    this.otherProps(element, bo, more);
  };

  SidePanel.prototype.otherProps = function (element, bo, box) {
    var self = this;
    var props = this.ext(bo, "spiffworkflow:Properties");
    (props ? props.get("properties") || [] : []).forEach(function (p) {
      if (!KNOWN[p.name]) {
        self.field(box, p.name, p.value, function (v) { self.setProp(element, bo, p.name, v); });
      }
    });
    var name = this.field(box, "新属性名", "", function () {}, { placeholder: "名称" });
    this.field(box, "新属性值", "", function (v) {
      if (name.value.trim()) { self.setProp(element, bo, name.value.trim(), v); }
    }, { placeholder: "输入后按回车" });
  };

  SidePanel.prototype.processProps = function (element, process) {
    var self = this;
    var box = this.section("流程设置（" + process.id + "）");
    if (element.businessObject !== process) {
      this.field(box, "流程名称", process.name, function (v) {
        self.modeling.updateModdleProperties(element, process, { name: v });
      });
    }
    this.field(box, "可执行", process.isExecutable ? "true" : "false", function (v) {
      self.modeling.updateModdleProperties(element, process, { isExecutable: v === "true" });
    }, { options: [["true", "是"], ["false", "否"]] });
    PROCESS_PROPS.forEach(function (p) {
      self.field(box, p.label, self.getProp(process, p.key), function (v) { self.setProp(element, process, p.key, v); },
        { list: p.list, placeholder: p.placeholder });
    });
  };

  SidePanel.prototype.flowProps = function (element, bo) {
    var self = this;
    var source = element.source;
    var sourceType = source ? source.businessObject.$type : "";
    var conditional = sourceType === "bpmn:ExclusiveGateway" || sourceType === "bpmn:InclusiveGateway";
    var condition = bo.conditionExpression ? bo.conditionExpression.body : "";
    this.field(this.container, "条件表达式（Python）", condition, function (v) {
      var expression = v.trim() ? self.moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined;
      self.modeling.updateProperties(element, { conditionExpression: expression });
    }, {
      multiline: true, rows: 2, name: "condition", placeholder: "approved == True",
      help: conditional ? "为真时走此连线；不要写 ${...}（JUEL）" : "只有排他网关和包容网关的出口条件会被计算"
    });
    if (conditional) {
      var isDefault = source.businessObject.default === bo;
      this.field(this.container, "默认流", isDefault ? "true" : "", function (v) {
        self.modeling.updateProperties(source, { "default": v === "true" ? bo : undefined });
      }, { options: [["", "否"], ["true", "是（其他条件都不满足时）"]] });
    }
  };

  SidePanel.prototype.timerProps = function (element, def) {
    var self = this;
    var kinds = [["timeDuration", "时长"], ["timeDate", "时间点"], ["timeCycle", "循环"]];
    var current = kinds.filter(function (k) { return def.get(k[0]); })[0];
    var kind = current ? current[0] : "timeDuration";
    var expr = current ? (def.get(kind).body || "") : "";
    var box = this.section("定时器");
    var apply = function (newKind, value) {
      var props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      if (value.trim()) { props[newKind] = self.moddle.create("bpmn:FormalExpression", { body: value.trim() }); }
      self.modeling.updateModdleProperties(element, def, props);
    };
    var typeInput = this.field(box, "类型", kind, function (v) { kind = v; apply(kind, exprInput.value); }, { options: kinds });
    var exprInput = this.field(box, "表达式（Python）", expr, function (v) { apply(typeInput.value, v); }, {
      name: "timer", placeholder: "\"PT72H\"", help: "表达式是 Python：ISO-8601 字面量要加引号，如 \"PT72H\"、\"P3D\"、\"R3/PT1H\""
    });
  };

  SidePanel.prototype.serviceProps = function (element, bo) {
    var self = this;
    var op = this.ext(bo, "spiffworkflow:ServiceTaskOperator");
    this.field(this.container, "服务操作", op ? op.id : "", function (v) {
      if (!v.trim()) { self.removeExt(element, bo, "spiffworkflow:ServiceTaskOperator"); return; }
      var found = self.ensureExt(element, bo, "spiffworkflow:ServiceTaskOperator", { id: v.trim() });
      self.modeling.updateModdleProperties(element, found, { id: v.trim() });
    }, { list: "services", name: "operator", help: "已注册的服务，如 clue.generate_report" });
    this.field(this.container, "结果变量", op ? op.resultVariable : "", function (v) {
      if (!op) { return; }
      self.modeling.updateModdleProperties(element, op, { resultVariable: v.trim() || undefined });
    }, { name: "resultVariable" });
  };

  window.DuchaSidePanel = SidePanel;
})();
