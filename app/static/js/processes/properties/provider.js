// The Ducha properties provider: groups for what the runtime reads (app/engine/nodes.py), laid over the
// standard bpmn-js groups (general, documentation, message, signal, timer, multi-instance, ...).
import { is } from "bpmn-js/lib/util/ModelUtil";

import { callGroup, conditionGroup, decisionGroup, laneGroup, otherPropsGroup, prePostGroup, processGroup, scriptGroup, serviceGroup, timerNote } from "./other.js";
import { userTaskGroups } from "./user-task.js";

const KEEP = ["general", "documentation", "message", "signal", "timer", "multiInstance", "error", "escalation", "link", "compensation"];

function processOf(element) {
  const bo = element.businessObject;
  if (is(element, "bpmn:Process")) return bo;
  if (is(element, "bpmn:Participant")) return bo.processRef || null;
  if (is(element, "bpmn:Collaboration")) {
    const first = (bo.participants || []).find((p) => p.processRef);
    return first ? first.processRef : null;
  }
  return null;
}

export default function DuchaPropertiesProvider(propertiesPanel, injector, config) {
  const settings = config || {};

  this.getGroups = function (element) {
    return function (groups) {
      const bo = element.businessObject;
      const kept = groups.filter((g) => KEEP.includes(g.id));
      const ours = [];
      if (is(element, "bpmn:UserTask") || is(element, "bpmn:ManualTask") || element.type === "bpmn:Task") ours.push(...userTaskGroups(element, bo, settings));
      if (is(element, "bpmn:Lane")) ours.push(laneGroup(element, bo, settings));
      if (is(element, "bpmn:SequenceFlow")) ours.push(conditionGroup(element, bo, injector));
      if (is(element, "bpmn:ScriptTask")) ours.push(scriptGroup(element, bo, injector));
      if (is(element, "bpmn:BusinessRuleTask")) ours.push(decisionGroup(element, bo, settings));
      if (is(element, "bpmn:ServiceTask")) ours.push(serviceGroup(element, bo, settings));
      if (is(element, "bpmn:CallActivity")) ours.push(callGroup(element, bo, settings, injector));
      const process = processOf(element);
      if (process) ours.push(processGroup(element, process, settings));
      if (is(element, "bpmn:Activity")) ours.push(prePostGroup(element, bo));
      if (is(element, "bpmn:FlowNode") || is(element, "bpmn:Lane") || process) ours.push(otherPropsGroup(element, process || bo));
      const timer = kept.find((g) => g.id === "timer");
      if (timer) timer.entries = timer.entries.concat([timerNote(element)]);
      const general = kept.findIndex((g) => g.id === "general");
      kept.splice(general + 1, 0, ...ours);
      return kept;
    };
  };
  propertiesPanel.registerProvider(500, this);
}

DuchaPropertiesProvider.$inject = ["propertiesPanel", "injector", "config.ducha"];
