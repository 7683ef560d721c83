// The spiffworkflow: extension elements as a bpmn-moddle package, so the modeler reads and writes them
// as typed objects (SpiffWorkflow's spiffworkflow.xsd plus the message elements SpiffArena writes).
// Elements of this namespace that are not listed here would be dropped on save: keep the list complete.
function body(name) {
  return { name: name, superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] };
}
export default {
  name: "SpiffWorkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  prefix: "spiffworkflow",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    {
      name: "Properties",
      superClass: ["Element"],
      properties: [{ name: "properties", type: "Property", isMany: true }]
    },
    {
      name: "Property",
      superClass: ["Element"],
      properties: [
        { name: "name", type: "String", isAttr: true },
        { name: "value", type: "String", isAttr: true }
      ]
    },
    body("CalledDecisionId"),
    body("InstructionsForEndUser"),
    body("MessagePayload"),
    body("MessageVariable"),
    body("PayloadExpression"),
    body("VariableName"),
    body("PreScript"),
    body("PostScript"),
    body("InputJson"),
    body("ExpectedOutputJson"),
    body("PropertyId"),
    body("Expression"),
    {
      name: "ServiceTaskOperator",
      superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "resultVariable", type: "String", isAttr: true },
        { name: "parameterList", type: "Parameters" },
        { name: "retry", type: "Retry" }
      ]
    },
    { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
    {
      name: "Parameter",
      superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "type", type: "String", isAttr: true },
        { name: "value", type: "String", isAttr: true }
      ]
    },
    {
      name: "Retry",
      superClass: ["Element"],
      properties: [
        { name: "retries", type: "Integer", isAttr: true },
        { name: "backoff_base", type: "Integer", isAttr: true }
      ]
    },
    { name: "UnitTests", superClass: ["Element"], properties: [{ name: "unitTests", type: "UnitTest", isMany: true }] },
    {
      name: "UnitTest",
      superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "inputJson", type: "InputJson" },
        { name: "expectedOutputJson", type: "ExpectedOutputJson" }
      ]
    },
    {
      name: "ProcessVariableCorrelation",
      superClass: ["Element"],
      properties: [
        { name: "propertyId", type: "PropertyId" },
        { name: "expression", type: "Expression" }
      ]
    },
    {
      name: "ScriptsOnInstances",
      isAbstract: true,
      "extends": ["bpmn:MultiInstanceLoopCharacteristics"],
      properties: [{ name: "scriptsOnInstances", type: "Boolean", isAttr: true }]
    }
  ]
};
