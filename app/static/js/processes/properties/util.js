// Reading and writing the spiffworkflow: extension elements of a business object through `modeling`,
// so every change is one undoable command and marks the draft dirty.
import { getBusinessObject } from "bpmn-js/lib/util/ModelUtil";

export function ext(bo, type) {
  const ee = bo && bo.get("extensionElements");
  if (!ee) return null;
  return (ee.get("values") || []).find((v) => v.$type === type) || null;
}

export function ensureExt(injector, element, bo, type, attrs) {
  const modeling = injector.get("modeling");
  const moddle = injector.get("moddle");
  let ee = bo.get("extensionElements");
  if (!ee) {
    ee = moddle.create("bpmn:ExtensionElements", { values: [] });
    ee.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ee });
  }
  let found = ext(bo, type);
  if (!found) {
    found = moddle.create(type, attrs || {});
    found.$parent = ee;
    modeling.updateModdleProperties(element, ee, { values: (ee.get("values") || []).concat([found]) });
  }
  return found;
}

export function removeExt(injector, element, bo, type) {
  const ee = bo.get("extensionElements");
  const found = ext(bo, type);
  if (ee && found) {
    injector.get("modeling").updateModdleProperties(element, ee, { values: ee.get("values").filter((v) => v !== found) });
  }
}

export function getProp(bo, name) {
  const props = ext(bo, "spiffworkflow:Properties");
  const found = props ? (props.get("properties") || []).find((p) => p.name === name) : null;
  return found ? found.value || "" : "";
}

export function allProps(bo) {
  const props = ext(bo, "spiffworkflow:Properties");
  return props ? props.get("properties") || [] : [];
}

export function setProp(injector, element, bo, name, value) {
  const modeling = injector.get("modeling");
  value = (value === undefined || value === null ? "" : String(value)).trim();
  let props = ext(bo, "spiffworkflow:Properties");
  if (!props && !value) return;
  props = props || ensureExt(injector, element, bo, "spiffworkflow:Properties", { properties: [] });
  const list = props.get("properties") || [];
  const found = list.find((p) => p.name === name);
  if (!value) {
    if (found) modeling.updateModdleProperties(element, props, { properties: list.filter((p) => p !== found) });
  } else if (found) {
    modeling.updateModdleProperties(element, found, { value });
  } else {
    const prop = injector.get("moddle").create("spiffworkflow:Property", { name, value });
    prop.$parent = props;
    modeling.updateModdleProperties(element, props, { properties: list.concat([prop]) });
  }
}

export function getBody(bo, type) {
  const found = ext(bo, type);
  return found ? found.value || "" : "";
}

export function setBody(injector, element, bo, type, value) {
  value = (value || "").trim();
  if (!value) {
    removeExt(injector, element, bo, type);
    return;
  }
  const found = ext(bo, type);
  if (found) injector.get("modeling").updateModdleProperties(element, found, { value });
  else ensureExt(injector, element, bo, type, { value });
}

export function laneOf(elementRegistry, bo) {
  const lanes = elementRegistry.filter((e) => e.type === "bpmn:Lane");
  return lanes.map((l) => l.businessObject).find((l) => (l.get("flowNodeRef") || []).includes(bo)) || null;
}

export { getBusinessObject };
