// The designer's state, shared by its modules: the tree being edited, undo history, the selection,
// the problems of the last validation, and the page's elements. Constants of the node kinds.
const root = document.getElementById("designer");
const config = root ? JSON.parse(root.getAttribute("data-config")) : { catalog: {}, tree: { start: {} } };

export const S = {
  root,
  config,
  catalog: config.catalog,
  tree: config.tree,
  isNew: !!config.new,
  history: [],
  selected: { kind: "start", id: config.tree.start.id },
  problems: {},
  dirty: false,
  uid: 0,
  fieldSeq: 0,
  openMenu: null, // {list, index} of the "+" menu that is open, kept across re-renders
  canvas: document.getElementById("designer-canvas"),
  panel: document.getElementById("designer-panel"),
  message: document.getElementById("designer-message"),
  problemList: document.getElementById("designer-problems"),
  statusText: document.getElementById("designer-status"),
};

export const ICONS = {
  start: "person-fill", approval: "person-check", task: "person-gear", cc: "send",
  condition: "signpost-split", parallel: "distribute-horizontal", inclusive: "diagram-3",
  delay: "hourglass-split", trigger: "lightning-charge", subprocess: "box-arrow-in-right", end: "stop-circle"
};
export const ADDABLE = ["approval", "task", "cc", "condition", "parallel", "inclusive", "delay", "trigger", "subprocess"];
export const ASSIGNEE_KINDS = [
  ["leader", "直属领导"], ["leader_up", "上级领导"], ["role", "指定角色"], ["users", "指定成员"],
  ["initiator", "发起人本人"], ["field", "表单中的人员字段"], ["expr", "表达式"]
];
export const METHODS = [["single", "单人审批"], ["sequential", "依次审批"], ["all", "会签（须全部同意）"],
  ["any", "或签（一人同意即可）"], ["ratio", "按比例通过"]];
export const NO_APPROVER = [["admin", "转交流程管理员"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"], ["user", "转交指定人员"]];
export const ON_INITIATOR = [["self", "由发起人自己审批"], ["skip", "自动跳过"], ["leader", "转交直属领导"]];
export const AUTO_PASS = [["never", "不自动通过"], ["consecutive", "与上一节点审批人相同时自动通过"], ["always", "审批过即自动通过"]];
export const TIMEOUT = [["none", "不处理"], ["auto_approve", "自动通过"], ["auto_reject", "自动拒绝"], ["escalate", "升级给上级"]];
export const BUTTONS = {
  approval: [["approve", "通过"], ["reject", "拒绝"], ["return", "退回"], ["transfer", "转办"], ["delegate", "委派"],
    ["add_sign", "加签"], ["cc", "抄送"], ["draft", "暂存"]],
  task: [["complete", "提交"], ["return", "退回"], ["transfer", "转办"], ["delegate", "委派"], ["cc", "抄送"], ["draft", "暂存"]]
};
export const PERMS = [["edit", "可编辑"], ["readonly", "只读"], ["hidden", "隐藏"]];

