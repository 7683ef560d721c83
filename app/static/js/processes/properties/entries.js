// Entry factories for the Ducha properties provider: one function per kind of field, each reading and
// writing one spiffworkflow:properties value (or an attribute / body through the given accessors).
import {
  CheckboxEntry,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
  isCheckboxEntryEdited,
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited,
} from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";

import { getProp, setProp } from "./util.js";

// Accessors of one spiffworkflow:properties value of `bo` (edited on `element`).
export function propAccess(element, bo, key) {
  return {
    get: () => getProp(bo, key),
    set: (injector, value) => setProp(injector, element, bo, key, value),
  };
}

// options: [[value, label], ...]; a stored value that is not among them is kept and shown as such.
function withCurrent(options, value, emptyLabel) {
  const list = options.map(([v, l]) => ({ value: v, label: l }));
  if (emptyLabel !== null && !list.some((o) => o.value === "")) list.unshift({ value: "", label: emptyLabel || "（未设置）" });
  if (value && !list.some((o) => o.value === value)) list.push({ value, label: `${value}（未知）` });
  return list;
}

export function textEntry(element, id, label, access, opts = {}) {
  function Component(props) {
    const injector = useService("injector");
    const debounce = useService("debounceInput");
    const Entry = opts.multiline ? TextAreaEntry : TextFieldEntry;
    return h(Entry, {
      element: props.element,
      id,
      label,
      description: opts.description,
      debounce,
      rows: opts.rows,
      monospace: opts.monospace,
      placeholder: opts.placeholder,
      validate: opts.validate,
      getValue: () => access.get() || "",
      setValue: (value) => access.set(injector, value),
    });
  }
  return { id, element, component: Component, isEdited: opts.multiline ? isTextAreaEntryEdited : isTextFieldEntryEdited };
}

export function numberEntry(element, id, label, access, opts = {}) {
  return textEntry(element, id, label, access, {
    ...opts,
    validate: (v) => (v && !/^\d+$/.test(String(v).trim()) ? "请输入非负整数" : null),
  });
}

export function selectEntry(element, id, label, access, options, opts = {}) {
  function Component(props) {
    const injector = useService("injector");
    return h(SelectEntry, {
      element: props.element,
      id,
      label,
      description: opts.description,
      getValue: () => access.get() || "",
      setValue: (value) => access.set(injector, value),
      getOptions: () => withCurrent(typeof options === "function" ? options() : options, access.get(), opts.emptyLabel),
    });
  }
  return { id, element, component: Component, isEdited: isSelectEntryEdited };
}

export function checkEntry(element, id, label, access, opts = {}) {
  function Component(props) {
    const injector = useService("injector");
    return h(CheckboxEntry, {
      element: props.element,
      id,
      label,
      description: opts.description,
      getValue: () => access.get() === "true",
      setValue: (value) => access.set(injector, value ? "true" : ""),
    });
  }
  return { id, element, component: Component, isEdited: isCheckboxEntryEdited };
}

// A read-only line of text (help, or a value that is changed elsewhere).
export function noteEntry(element, id, text) {
  function Component() {
    return h("div", { class: "bio-properties-panel-entry ducha-note", "data-entry-id": id }, typeof text === "function" ? text() : text);
  }
  return { id, element, component: Component };
}
