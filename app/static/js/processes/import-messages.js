// bpmn-js import warnings and failures in Chinese, with the element id and what to change.
// Files from other modelers often carry references bpmn-js cannot resolve; an English
// "unresolved reference" or an empty canvas tells a process administrator nothing.
var ID = '<([\\w:]+)(?: id="([^"]*))?" />';
var RULES = [
  [/^unresolved reference <([^>]*)>/, function (m) {
    return "引用「" + m[1] + "」找不到对应的元素，相关的连线或图形不显示；请在原建模工具中检查此引用（或删除后重新连线）";
  }],
  [new RegExp("^unsupported bpmnElement for " + ID + ": (<null>|" + ID + ")"), function (m) {
    return "图层「" + (m[2] || "") + "」的 bpmnElement 没有指向流程或协作图，整张图无法显示；请把 BPMNPlane 的 bpmnElement 改为流程（bpmn:process）或协作（bpmn:collaboration）的 id";
  }],
  [new RegExp("^no bpmnElement referenced in " + ID), function (m) {
    return "图形「" + (m[2] || "") + "」没有对应的流程元素（bpmnElement 缺失或引用不存在），已跳过；请删除此图形或改正其 bpmnElement";
  }],
  [new RegExp("^multiple DI elements defined for " + ID), function (m) {
    return "元素「" + (m[2] || "") + "」有多个图形定义，只显示第一个；请删除多余的 BPMNShape/BPMNEdge";
  }],
  [new RegExp("^unrecognized flowElement " + ID), function (m) {
    return "元素「" + (m[2] || "") + "」（" + m[1] + "）不是标准 BPMN 流程元素，未显示";
  }],
  [new RegExp("^already rendered " + ID), function (m) {
    return "元素「" + (m[2] || "") + "」被重复绘制，已忽略重复的图形";
  }],
  [new RegExp("^failed to import " + ID), function (m) {
    return "元素「" + (m[2] || "") + "」无法绘制，已跳过；请检查它的图形信息（坐标、所在图层）";
  }],
  [new RegExp("^element " + ID + " referenced by " + ID + "#(\\w+) not yet drawn"), function (m) {
    return "元素「" + (m[4] || "") + "」的 " + m[5] + " 引用了「" + (m[2] || "") + "」，但后者没有图形，连线不显示；请为「" + (m[2] || "") + "」补充图形信息";
  }],
  [new RegExp("^unknown di " + ID + " for element " + ID), function (m) {
    return "元素「" + (m[4] || "") + "」的图形「" + (m[2] || "") + "」类型不匹配（" + m[1] + "），未显示";
  }],
  [/^unparsable content <([^>]*)> detected/, function (m) {
    return "无法识别的内容 <" + m[1] + ">（其他工具的扩展），已忽略；保存时不会保留";
  }],
  [/^unknown type <([^>]*)>/, function (m) { return "未知的元素类型 <" + m[1] + ">，已忽略"; }],
  [/^failed to parse document as <bpmn:Definitions>/, function () {
    return "文件不是有效的 BPMN 2.0 文档（根元素应为 bpmn:definitions）";
  }]
];

function describe(message) {
  var text = String(message || "");
  for (var i = 0; i < RULES.length; i++) {
    var m = RULES[i][0].exec(text);
    if (m) { return RULES[i][1](m); }
  }
  return "导入时出现问题：" + text;
}

function warnings(result) {
  return ((result && result.warnings) || []).map(function (w) { return describe(w.message || w); });
}

// Imported "successfully" yet nothing is drawn: the diagram references nothing that exists.
function isBlank(viewer) {
  var registry = viewer.get("elementRegistry");
  var root = viewer.get("canvas").getRootElement();
  return registry.filter(function (e) { return e !== root && !e.labelTarget; }).length === 0;
}

var BLANK = "流程图导入后没有任何可显示的图形：图形信息（BPMNDI）没有指向本文件中的元素。请检查 bpmnElement 引用，或删除 BPMNDiagram 后重新上传以自动排布";

export { describe, warnings, isBlank, BLANK };
