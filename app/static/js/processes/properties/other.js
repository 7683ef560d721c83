// Groups of the other elements the runtime reads: lanes, processes, flows, scripts, decisions,
// service operators, called processes, pre/post scripts and properties the panel does not know.
import { checkEntry, noteEntry, propAccess, selectEntry, textEntry } from "./entries.js";
import { allProps, ensureExt, ext, getBody, removeExt, setBody, setProp } from "./util.js";
import { checkSetEntry } from "./widgets.js";

export const KNOWN_PROPS = new Set([
  "formJsonSchemaFilename", "formUiSchemaFilename", "kind", "assignee", "method", "orgField", "onNoApprover", "onInitiator",
  "autoPass", "dueDays", "dueWorkingDays", "remindTimes", "timeoutAction", "reasonRequired", "buttons", "fieldPermissions",
  "rejectPolicy", "returnDirect", "signature", "priority", "role",
  "category", "numberRule", "titleRule", "summaryFields", "startRoles", "startForm",
]);

export function laneGroup(element, bo, config) {
  return {
    id: "ducha-lane",
    label: "泳道代表的角色",
    entries: [
      selectEntry(element, "laneRole", "角色", propAccess(element, bo, "role"), () => config.roles.map((r) => [r.code, r.name]), {
        emptyLabel: "（按泳道名称）",
        description: "泳道中未指定办理人的任务交给持有此角色、且数据范围包含实例机构的人员。未设置时泳道名称即角色代码（其他工具的文件）。",
      }),
    ],
  };
}

export function processGroup(element, process, config) {
  const p = (key) => propAccess(element, process, key);
  return {
    id: "ducha-process",
    label: "流程设置",
    entries: [
      textEntry(element, "category", "分类", p("category")),
      textEntry(element, "numberRule", "编号规则", p("numberRule"), { placeholder: "XS{yyyy}{MM}{dd}{seq:4}" }),
      textEntry(element, "titleRule", "标题规则", p("titleRule"), { placeholder: "{enterprise_name}线索核查" }),
      textEntry(element, "summaryFields", "摘要字段", p("summaryFields"), { placeholder: "subject,amount" }),
      checkSetEntry(element, "startRoles", "可发起的角色", config.roles.map((r) => [r.code, r.name]), p("startRoles"), "不勾选则有权限的人都可发起"),
      selectEntry(element, "startForm", "发起表单", p("startForm"), () => config.forms.filter((f) => !f.ui).map((f) => [f.file, f.title === f.file ? f.file : `${f.title}（${f.file}）`]), { emptyLabel: "（无）" }),
    ],
  };
}

export function conditionGroup(element, bo, injector) {
  const source = element.source;
  const sourceType = source ? source.businessObject.$type : "";
  const conditional = sourceType === "bpmn:ExclusiveGateway" || sourceType === "bpmn:InclusiveGateway";
  const moddle = injector.get("moddle");
  const modeling = injector.get("modeling");
  const entries = [
    textEntry(element, "condition", "条件表达式（Python）", {
      get: () => (bo.conditionExpression ? bo.conditionExpression.body : ""),
      set: (_inj, value) => {
        const v = (value || "").trim();
        modeling.updateProperties(element, { conditionExpression: v ? moddle.create("bpmn:FormalExpression", { body: v }) : undefined });
      },
    }, {
      multiline: true, monospace: true, rows: 2, placeholder: "approved == True",
      description: conditional ? "为真时走此连线；写 Python，不要写 ${...}" : "只有排他网关和包容网关的出口条件会被计算",
    }),
  ];
  if (conditional) {
    entries.push(checkEntry(element, "defaultFlow", "默认流（其他条件都不满足时）", {
      get: () => (source.businessObject.default === bo ? "true" : ""),
      set: (_inj, value) => modeling.updateProperties(source, { default: value === "true" ? bo : undefined }),
    }));
  }
  return { id: "ducha-condition", label: "条件", entries };
}

export function scriptGroup(element, bo, injector) {
  return {
    id: "ducha-script",
    label: "脚本",
    entries: [textEntry(element, "script", "脚本（Python，受限环境）", {
      get: () => bo.script || "",
      set: (_inj, value) => injector.get("modeling").updateProperties(element, { script: value, scriptFormat: bo.scriptFormat || "python" }),
    }, { multiline: true, monospace: true, rows: 8, description: "脚本中赋值的顶层变量会写入流程数据；临时变量请 del" })],
  };
}

export function decisionGroup(element, bo, config) {
  return {
    id: "ducha-decision",
    label: "决策",
    entries: [selectEntry(element, "calledDecisionId", "调用的决策表", {
      get: () => getBody(bo, "spiffworkflow:CalledDecisionId"),
      set: (injector, value) => setBody(injector, element, bo, "spiffworkflow:CalledDecisionId", value),
    }, () => config.decisions.map((d) => [d.id, d.name === d.id ? d.id : `${d.name}（${d.file}）`]), { emptyLabel: "（未选择）" })],
  };
}

function paramsText(op) {
  const list = op && op.get("parameterList") ? op.get("parameterList").get("parameters") || [] : [];
  return list.map((p) => `${p.id} = ${p.value || ""}`).join("\n");
}

export function serviceGroup(element, bo, config) {
  const operator = () => ext(bo, "spiffworkflow:ServiceTaskOperator");
  return {
    id: "ducha-service",
    label: "服务",
    entries: [
      selectEntry(element, "operator", "服务操作", {
        get: () => (operator() ? operator().id || "" : ""),
        set: (injector, value) => {
          if (!value) { removeExt(injector, element, bo, "spiffworkflow:ServiceTaskOperator"); return; }
          const op = ensureExt(injector, element, bo, "spiffworkflow:ServiceTaskOperator", { id: value });
          injector.get("modeling").updateModdleProperties(element, op, { id: value });
        },
      }, () => config.services.map((s) => [s.id, s.name === s.id ? s.id : `${s.name}（${s.id}）`]), { emptyLabel: "（未选择）" }),
      textEntry(element, "resultVariable", "结果变量", {
        get: () => (operator() ? operator().resultVariable || "" : ""),
        set: (injector, value) => { if (operator()) injector.get("modeling").updateModdleProperties(element, operator(), { resultVariable: value || undefined }); },
      }),
      textEntry(element, "operatorParams", "参数（每行：名称 = Python 表达式）", {
        get: () => paramsText(operator()),
        set: (injector, value) => {
          const op = operator();
          if (!op) return;
          const moddle = injector.get("moddle");
          const list = moddle.create("spiffworkflow:Parameters", { parameters: [] });
          list.$parent = op;
          (value || "").split("\n").map((l) => l.trim()).filter(Boolean).forEach((line) => {
            const i = line.indexOf("=");
            if (i < 1) return;
            const param = moddle.create("spiffworkflow:Parameter", { id: line.slice(0, i).trim(), type: "any", value: line.slice(i + 1).trim() });
            param.$parent = list;
            list.get("parameters").push(param);
          });
          injector.get("modeling").updateModdleProperties(element, op, { parameterList: list.get("parameters").length ? list : undefined });
        },
      }, { multiline: true, monospace: true, rows: 3, placeholder: "url = \"https://...\"" }),
    ],
  };
}

export function callGroup(element, bo, config, injector) {
  return {
    id: "ducha-call",
    label: "调用的流程",
    entries: [selectEntry(element, "calledElement", "被调用的流程", {
      get: () => bo.calledElement || "",
      set: (_inj, value) => injector.get("modeling").updateProperties(element, { calledElement: value || undefined }),
    }, () => config.processes.map((p) => [p.id, p.name]), { emptyLabel: "（未选择）" })],
  };
}

export function prePostGroup(element, bo) {
  const body = (type) => ({ get: () => getBody(bo, type), set: (injector, value) => setBody(injector, element, bo, type, value) });
  return {
    id: "ducha-prepost",
    label: "前置 / 后置脚本",
    entries: [
      textEntry(element, "preScript", "前置脚本", body("spiffworkflow:PreScript"), { multiline: true, monospace: true, rows: 3 }),
      textEntry(element, "postScript", "后置脚本", body("spiffworkflow:PostScript"), { multiline: true, monospace: true, rows: 3 }),
    ],
  };
}

export function timerNote(element) {
  return noteEntry(element, "timerHelp", "定时器表达式是 Python：ISO-8601 字面量要加引号，如 \"PT72H\"、\"P3D\"、\"R3/PT1H\"；也可写 working_deadline(3)");
}

export function otherPropsGroup(element, bo) {
  const unknown = allProps(bo).filter((p) => !KNOWN_PROPS.has(p.name));
  const entries = unknown.map((p) => textEntry(element, `prop-${p.name}`, p.name, propAccess(element, bo, p.name)));
  let pending = "";
  entries.push(textEntry(element, "newPropName", "新属性名", { get: () => pending, set: (_inj, v) => { pending = v; } }));
  entries.push(textEntry(element, "newPropValue", "新属性值", {
    get: () => "",
    set: (injector, v) => { if (pending.trim() && v) { setProp(injector, element, bo, pending.trim(), v); pending = ""; } },
  }));
  return { id: "ducha-other", label: "其他属性", entries };
}
