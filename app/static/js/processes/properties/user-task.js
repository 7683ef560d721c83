// Groups of a user task: what app/engine/nodes.py reads from its spiffworkflow:properties.
import { useService } from "bpmn-js-properties-panel";

import { checkEntry, noteEntry, numberEntry, propAccess, selectEntry, textEntry } from "./entries.js";
import { getProp, laneOf } from "./util.js";
import { buttonsEntry, checkSetEntry, fieldPermissionsEntry, peopleEntry } from "./widgets.js";

export const BUTTONS = { approve: "通过", reject: "拒绝", complete: "提交", return: "退回", transfer: "转办", delegate: "委派", add_sign: "加签", cc: "抄送", draft: "暂存", terminate: "终止" };
const DEFAULT_BUTTONS = {
  approval: ["approve", "reject", "return", "transfer", "delegate", "add_sign", "cc", "draft"],
  task: ["complete", "return", "transfer", "delegate", "cc", "draft"],
};

export const ASSIGNEE_KINDS = [
  ["", "泳道代表的角色（默认）"],
  ["role", "指定角色"],
  ["role_field", "角色来自表单字段"],
  ["users", "指定人员"],
  ["field", "人员来自表单字段"],
  ["initiator", "发起人"],
  ["leader", "所属机构领导"],
  ["leader_up", "上级机构领导"],
  ["expr", "表达式"],
];

// "role:district_leader" -> ["role", "district_leader"]
export function parseAssignee(value) {
  const v = (value || "").trim();
  if (!v) return ["", ""];
  const i = v.indexOf(":");
  const kind = i < 0 ? v : v.slice(0, i);
  const arg = i < 0 ? "" : v.slice(i + 1);
  if (kind === "role" && /^\{.*\}$/.test(arg)) return ["role_field", arg.slice(1, -1)];
  return [kind, arg];
}

export function formatAssignee(kind, arg) {
  if (!kind) return "";
  if (kind === "role_field") return `role:{${arg || ""}}`;
  if (kind === "initiator" || kind === "leader") return kind;
  return `${kind}:${arg || ""}`;
}

function assigneeEntries(element, bo, config) {
  const raw = propAccess(element, bo, "assignee");
  const [kind] = parseAssignee(raw.get());
  const part = (which) => ({
    get: () => parseAssignee(raw.get())[which],
    set: (injector, value) => {
      const [k, a] = parseAssignee(raw.get());
      if (which === 0) {
        const first = value === "role" ? (config.roles[0] || {}).code : value === "leader_up" ? "1" : "";
        raw.set(injector, formatAssignee(value, value === k ? a : first));
      } else raw.set(injector, formatAssignee(k, value));
    },
  });
  const roleOptions = () => config.roles.map((r) => [r.code, r.name]);
  const entries = [selectEntry(element, "assigneeKind", "办理人", part(0), ASSIGNEE_KINDS, { emptyLabel: null })];
  if (kind === "") {
    entries.push(noteEntry(element, "assigneeLane", () => {
      const registry = useService("elementRegistry");
      const lane = laneOf(registry, bo);
      const code = lane ? getProp(lane, "role") || lane.name : "";
      const role = config.roles.find((r) => r.code === code);
      return lane ? `泳道「${lane.name || "未命名"}」代表：${role ? role.name : code ? `${code}（未知角色）` : "（未设置角色）"}` : "不在泳道中：默认交给发起人";
    }));
  }
  if (kind === "role") entries.push(selectEntry(element, "assigneeRole", "角色", part(1), roleOptions, { emptyLabel: null, description: "持有该角色、且数据范围包含任务所属机构的人员" }));
  if (kind === "role_field") entries.push(textEntry(element, "assigneeRoleField", "存放角色代码的字段", part(1)));
  if (kind === "users") entries.push(peopleEntry(element, "assigneeUsers", "人员", config, part(1)));
  if (kind === "field") entries.push(textEntry(element, "assigneeField", "存放登录名的字段", part(1), { description: "字段值为一个或多个登录名（逗号分隔）" }));
  if (kind === "leader_up") entries.push(numberEntry(element, "assigneeLevels", "向上几级", part(1)));
  if (kind === "expr") entries.push(textEntry(element, "assigneeExpr", "表达式（Python）", part(1), { multiline: true, monospace: true, rows: 2 }));
  entries.push(textEntry(element, "orgField", "任务所属机构的字段", propAccess(element, bo, "orgField"), { description: "派单时存放机构代码的字段；空则为流程实例的机构" }));
  return entries;
}

function formOptions(config, ui) {
  return config.forms.filter((f) => f.ui === ui).map((f) => [f.file, f.title === f.file ? f.file : `${f.title}（${f.file}）`]);
}

export function userTaskGroups(element, bo, config) {
  const p = (key) => propAccess(element, bo, key);
  const kindAccess = p("kind");
  const nodeKind = () => kindAccess.get() || (getProp(bo, "method") ? "approval" : "task");
  const methodAccess = {
    get: () => (getProp(bo, "method") || "").split(":")[0],
    set: (injector, value) => p("method").set(injector, value === "ratio" ? "ratio:60" : value),
  };
  const ratioAccess = {
    get: () => ((getProp(bo, "method") || "").startsWith("ratio:") ? getProp(bo, "method").split(":")[1] : ""),
    set: (injector, value) => p("method").set(injector, `ratio:${value || 50}`),
  };
  const formFields = () => {
    const form = config.forms.find((f) => f.file === getProp(bo, "formJsonSchemaFilename"));
    return form ? form.fields : [];
  };
  const method = methodAccess.get();
  const approval = [
    selectEntry(element, "kind", "节点类型", kindAccess, [["task", "办理（提交）"], ["approval", "审批（通过/拒绝）"]], { emptyLabel: "（默认：办理）" }),
    selectEntry(element, "method", "多人处理方式", methodAccess, [["single", "单人"], ["all", "会签（全部同意）"], ["any", "或签（一人同意）"], ["sequential", "依次审批"], ["ratio", "按比例通过"]], { emptyLabel: "（默认：单人）" }),
  ];
  if (method === "ratio") approval.push(numberEntry(element, "ratio", "通过比例（%）", ratioAccess));
  approval.push(
    selectEntry(element, "rejectPolicy", "拒绝后", p("rejectPolicy"), [["continue", "按流程图的条件继续"], ["terminate", "终止流程"], ["return:initiator", "退回发起人"]], { emptyLabel: "（默认：按流程图继续）", description: "也可写 return:步骤编号，退回到该步骤" }),
    checkSetEntry(element, "reasonRequired", "必须填写意见", [["approve", "通过"], ["reject", "拒绝"], ["return", "退回"]], p("reasonRequired")),
    checkEntry(element, "signature", "需要手写签名", p("signature")),
    checkEntry(element, "returnDirect", "退回后重新提交时直接回到本节点", p("returnDirect")),
  );
  return [
    { id: "ducha-assignee", label: "办理人", entries: assigneeEntries(element, bo, config) },
    {
      id: "ducha-form",
      label: "表单",
      entries: [
        selectEntry(element, "formJsonSchemaFilename", "表单", p("formJsonSchemaFilename"), () => formOptions(config, false), { emptyLabel: "（无表单）" }),
        selectEntry(element, "formUiSchemaFilename", "表单界面", p("formUiSchemaFilename"), () => formOptions(config, true), { emptyLabel: "（默认）" }),
        fieldPermissionsEntry(element, "fieldPermissions", "字段权限", formFields, p("fieldPermissions")),
      ],
    },
    { id: "ducha-approval", label: "审批方式", entries: approval },
    {
      id: "ducha-deadline",
      label: "期限与超时",
      entries: [
        numberEntry(element, "dueWorkingDays", "办理时限（工作日）", p("dueWorkingDays")),
        numberEntry(element, "dueDays", "办理时限（自然日）", p("dueDays")),
        numberEntry(element, "remindTimes", "到期前提醒次数", p("remindTimes"), { description: "默认 1 次" }),
        selectEntry(element, "timeoutAction", "超时后", p("timeoutAction"), [["none", "不处理"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"], ["escalate", "升级给上级领导"]], { emptyLabel: "（默认：不处理）" }),
        selectEntry(element, "priority", "优先级", p("priority"), [["1", "高"], ["2", "普通"], ["3", "低"]], { emptyLabel: "（默认：普通）" }),
      ],
    },
    {
      id: "ducha-buttons",
      label: "按钮",
      entries: [buttonsEntry(element, "buttons", "显示的按钮", BUTTONS, () => DEFAULT_BUTTONS[nodeKind()] || DEFAULT_BUTTONS.task, p("buttons"))],
    },
    {
      id: "ducha-policies",
      label: "自动处理",
      entries: [
        selectEntry(element, "onNoApprover", "找不到办理人时", p("onNoApprover"), [["admin", "交给流程管理员"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"]], { emptyLabel: "（默认：交给流程管理员）", description: "也可写 user:登录名" }),
        selectEntry(element, "onInitiator", "办理人是发起人时", p("onInitiator"), [["self", "本人办理"], ["skip", "跳过"], ["leader", "交给领导"]], { emptyLabel: "（默认：本人办理）" }),
        selectEntry(element, "autoPass", "自动通过", p("autoPass"), [["never", "从不"], ["consecutive", "连续审批时"], ["always", "已审批过即通过"]], { emptyLabel: "（默认：从不）" }),
      ],
    },
  ];
}
