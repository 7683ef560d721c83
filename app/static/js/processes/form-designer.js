// The visual form designer (表单设计): fields of a user-task form as a list people drag to reorder, with a
// palette of field kinds and a property editor (title, field name, required, options, limits). It reads and
// writes the JSON Schema text of the form file, which stays what the runtime reads (app/engine/forms.py):
// `properties` in display order, `required`, `oneOf` [{const, title}] choices, `format: date`.

const KINDS = {
  text: { label: "单行文本", icon: "input-cursor-text", make: () => ({ type: "string" }) },
  number: { label: "数字", icon: "123", make: () => ({ type: "number" }) },
  integer: { label: "整数", icon: "hash", make: () => ({ type: "integer" }) },
  date: { label: "日期", icon: "calendar-date", make: () => ({ type: "string", format: "date" }) },
  select: { label: "单选（下拉）", icon: "menu-button-wide", make: () => ({ type: "string", oneOf: [{ const: "a", title: "选项一" }, { const: "b", title: "选项二" }] }) },
  multi: { label: "多选", icon: "ui-checks", make: () => ({ type: "array", items: { type: "string", oneOf: [{ const: "a", title: "选项一" }, { const: "b", title: "选项二" }] }, uniqueItems: true }) },
  boolean: { label: "是 / 否", icon: "toggle-on", make: () => ({ type: "boolean" }) },
};

export function kindOf(spec) {
  if (spec.type === "boolean") return "boolean";
  if (spec.type === "array") return "multi";
  if (spec.oneOf || spec.enum) return "select";
  if (spec.format === "date") return "date";
  if (spec.type === "integer") return "integer";
  if (spec.type === "number") return "number";
  return "text";
}

function options(spec) {
  const list = spec.type === "array" ? (spec.items || {}).oneOf || [] : spec.oneOf || [];
  return list.map((o) => `${o.const}=${o.title || o.const}`).join("\n");
}

function setOptions(spec, text) {
  const list = text.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    const i = line.indexOf("=");
    return i < 0 ? { const: line, title: line } : { const: line.slice(0, i).trim(), title: line.slice(i + 1).trim() || line.slice(0, i).trim() };
  });
  if (spec.type === "array") spec.items = { type: "string", oneOf: list };
  else { delete spec.enum; spec.oneOf = list; }
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (k === "className") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  });
  children.flat().forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return node;
}

export class FormDesigner {
  constructor(root, { getText, setText }) {
    this.root = root;
    this.getText = getText;
    this.setText = setText;
    this.selected = null;
    this.dragging = null;
  }

  schema() {
    try {
      const s = JSON.parse(this.getText() || "{}");
      return s && typeof s === "object" ? s : null;
    } catch (e) {
      return null;
    }
  }

  write(schema) {
    if (schema.required && !schema.required.length) delete schema.required;
    this.setText(JSON.stringify(schema, null, 2));
    this.render();
  }

  uniqueKey(props, base) {
    let n = Object.keys(props).length + 1;
    while (props[`${base}${n}`]) n += 1;
    return `${base}${n}`;
  }

  add(kind) {
    const schema = this.schema() || { type: "object", properties: {} };
    schema.type = schema.type || "object";
    schema.properties = schema.properties || {};
    const key = this.uniqueKey(schema.properties, "field");
    schema.properties[key] = { ...KINDS[kind].make(), title: `${KINDS[kind].label}${Object.keys(schema.properties).length + 1}` };
    this.selected = key;
    this.write(schema);
  }

  move(key, beforeKey) {
    const schema = this.schema();
    if (!schema || key === beforeKey) return;
    const entries = Object.entries(schema.properties || {});
    const moving = entries.find(([k]) => k === key);
    const rest = entries.filter(([k]) => k !== key);
    const at = beforeKey ? rest.findIndex(([k]) => k === beforeKey) : rest.length;
    rest.splice(at < 0 ? rest.length : at, 0, moving);
    schema.properties = Object.fromEntries(rest);
    this.write(schema);
  }

  update(key, change) {
    const schema = this.schema();
    if (!schema || !schema.properties[key]) return;
    change(schema, schema.properties[key]);
    this.write(schema);
  }

  rename(key, newKey) {
    newKey = newKey.trim();
    const schema = this.schema();
    if (!newKey || newKey === key || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(newKey) || schema.properties[newKey]) {
      this.message(newKey && newKey !== key ? "字段名须以字母开头、只含字母数字下划线，且不能重复" : "");
      return;
    }
    schema.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k === key ? newKey : k, v]));
    schema.required = (schema.required || []).map((r) => (r === key ? newKey : r));
    this.selected = newKey;
    this.write(schema);
  }

  remove(key) {
    const schema = this.schema();
    delete schema.properties[key];
    schema.required = (schema.required || []).filter((r) => r !== key);
    this.selected = null;
    this.write(schema);
  }

  message(text) {
    const box = this.root.querySelector(".fd-message");
    if (box) box.textContent = text;
  }

  render() {
    const schema = this.schema();
    this.root.textContent = "";
    if (!schema) {
      this.root.append(el("div", { className: "alert alert-warning m-2" }, "JSON 有错误，请先在 JSON 视图中改正"));
      return;
    }
    const props = schema.properties || {};
    const required = new Set(schema.required || []);
    const palette = el("div", { className: "fd-palette d-flex flex-wrap gap-1 mb-2" },
      Object.entries(KINDS).map(([kind, k]) => el("button", { type: "button", className: "btn btn-sm btn-outline-secondary", "data-add-kind": kind, onclick: () => this.add(kind) },
        el("i", { className: `bi bi-${k.icon}` }), ` ${k.label}`)));
    const titleInput = el("input", { className: "form-control form-control-sm", name: "form-title", value: schema.title || "", "aria-label": "表单标题",
      onchange: (e) => { const s = this.schema(); s.title = e.target.value.trim(); this.write(s); } });
    const list = el("ul", { className: "list-group fd-fields mb-2" });
    Object.entries(props).forEach(([key, spec]) => {
      const item = el("li", {
        className: `list-group-item list-group-item-action d-flex align-items-center gap-2${this.selected === key ? " active" : ""}`,
        draggable: "true", "data-field": key, tabindex: "0",
        onclick: () => { this.selected = key; this.render(); },
        ondragstart: (e) => { this.dragging = key; e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", key); },
        ondragover: (e) => { e.preventDefault(); item.classList.add("fd-over"); },
        ondragleave: () => item.classList.remove("fd-over"),
        ondrop: (e) => { e.preventDefault(); this.move(this.dragging || e.dataTransfer.getData("text/plain"), key); },
      }, el("i", { className: "bi bi-grip-vertical text-muted", "aria-hidden": "true" }), el("span", { className: "flex-grow-1" }, spec.title || key),
      el("span", { className: "badge text-bg-light" }, KINDS[kindOf(spec)].label), required.has(key) ? el("span", { className: "badge text-bg-danger" }, "必填") : "");
      list.append(item);
    });
    const end = el("li", { className: "list-group-item text-muted small fd-drop-end", ondragover: (e) => e.preventDefault(), ondrop: (e) => { e.preventDefault(); this.move(this.dragging, null); } }, "拖到这里放到最后");
    list.append(end);
    this.root.append(el("label", { className: "form-label small mb-0" }, "表单标题"), titleInput, el("div", { className: "small text-muted mt-2" }, "添加字段"), palette,
      el("div", { className: "small text-muted" }, "字段（拖动调整顺序，点击编辑）"), list, el("div", { className: "fd-message small text-danger" }));
    if (this.selected && props[this.selected]) this.root.append(this.editor(this.selected, props[this.selected], required.has(this.selected)));
  }

  editor(key, spec, isRequired) {
    const kind = kindOf(spec);
    const box = el("div", { className: "card card-body p-2 fd-editor", "data-editing": key });
    const field = (label, input) => el("div", { className: "mb-2" }, el("label", { className: "form-label small mb-0" }, label), input);
    box.append(field("标题", el("input", { className: "form-control form-control-sm", name: "fd-title", value: spec.title || "",
      onchange: (e) => this.update(key, (_s, p) => { p.title = e.target.value.trim(); }) })));
    box.append(field("字段名（流程数据中的名称）", el("input", { className: "form-control form-control-sm font-monospace", name: "fd-key", value: key,
      onchange: (e) => this.rename(key, e.target.value) })));
    box.append(el("div", { className: "form-check mb-2" }, el("input", { className: "form-check-input", type: "checkbox", id: "fd-required", name: "fd-required", checked: isRequired,
      onchange: (e) => this.update(key, (s) => { const r = new Set(s.required || []); if (e.target.checked) r.add(key); else r.delete(key); s.required = [...r]; }) }),
    el("label", { className: "form-check-label", for: "fd-required" }, "必填")));
    if (kind === "select" || kind === "multi") {
      box.append(field("选项（每行一个：值=名称）", el("textarea", { className: "form-control form-control-sm font-monospace", name: "fd-options", rows: "4",
        onchange: (e) => this.update(key, (_s, p) => setOptions(p, e.target.value)) }, options(spec))));
    }
    if (kind === "text") {
      box.append(field("最多字数", el("input", { className: "form-control form-control-sm", type: "number", min: "1", name: "fd-max", value: spec.maxLength || "",
        onchange: (e) => this.update(key, (_s, p) => { if (e.target.value) p.maxLength = Number(e.target.value); else delete p.maxLength; }) })));
    }
    if (kind === "number" || kind === "integer") {
      box.append(field("最小值", el("input", { className: "form-control form-control-sm", type: "number", name: "fd-min", value: spec.minimum ?? "",
        onchange: (e) => this.update(key, (_s, p) => { if (e.target.value !== "") p.minimum = Number(e.target.value); else delete p.minimum; }) })));
    }
    box.append(el("button", { type: "button", className: "btn btn-sm btn-outline-danger", name: "fd-remove", onclick: () => this.remove(key) }, "删除此字段"));
    return box;
  }
}
