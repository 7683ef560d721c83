// Form controls of the side panel (labelled input, select, checkboxes, headings).
import { S } from "./state.js";
import { change, select } from "./model.js";
import { el } from "./util.js";


export function group(box, label, control, help) {
  S.fieldSeq += 1;
  var id = "dd-f" + S.fieldSeq;
  var wrap = el("div", { className: "mb-2" });
  wrap.appendChild(el("label", { className: "form-label small mb-0", "for": id }, label));
  control.id = control.id || id;
  wrap.appendChild(control);
  if (help) { wrap.appendChild(el("div", { className: "form-text" }, help)); }
  box.appendChild(wrap);
  return control;
}

export function input(box, label, value, onChange, opts) {
  opts = opts || {};
  var control = el(opts.textarea ? "textarea" : "input", {
    className: "form-control form-control-sm", type: opts.textarea ? null : (opts.type || "text"),
    name: opts.name, placeholder: opts.placeholder, list: opts.list, disabled: !!opts.disabled, min: opts.min, max: opts.max, rows: opts.textarea ? 3 : null
  });
  control.value = value === undefined || value === null ? "" : value;
  control.addEventListener("change", function () { onChange(control.value); });
  return group(box, label, control, opts.help);
}

export function selectBox(box, label, value, options, onChange, opts) {
  opts = opts || {};
  var control = el("select", { className: "form-select form-select-sm", name: opts.name });
  var known = false;
  options.forEach(function (o) {
    var option = el("option", { value: o[0] }, o[1]);
    if (String(o[0]) === String(value)) { option.selected = true; known = true; }
    control.appendChild(option);
  });
  if (!known && value) { var extra = el("option", { value: value }, value); extra.selected = true; control.appendChild(extra); }
  control.addEventListener("change", function () { onChange(control.value); });
  return group(box, label, control, opts.help);
}

export function checks(box, label, options, values, onChange, name) {
  var wrap = el("fieldset", { className: "mb-2" });
  wrap.appendChild(el("legend", { className: "form-label small mb-0 fs-6" }, label));
  options.forEach(function (o) {
    S.fieldSeq += 1;
    var id = "dd-c" + S.fieldSeq;
    var line = el("div", { className: "form-check form-check-inline" });
    var cb = el("input", { className: "form-check-input", type: "checkbox", id: id, value: o[0], name: name });
    cb.checked = values.indexOf(o[0]) >= 0;
    cb.addEventListener("change", function () {
      var now = Array.prototype.filter.call(wrap.querySelectorAll("input"), function (x) { return x.checked; })
        .map(function (x) { return x.value; });
      onChange(now);
    });
    line.appendChild(cb);
    line.appendChild(el("label", { className: "form-check-label small", "for": id }, o[1]));
    wrap.appendChild(line);
  });
  box.appendChild(wrap);
}

export function heading(box, text) { box.appendChild(el("h3", { className: "h6 mt-3 mb-2 text-muted" }, text)); }

export function ensureDatalists() {
  if (document.getElementById("dd-users")) { return; }
  var users = el("datalist", { id: "dd-users" });
  S.catalog.users.forEach(function (u) { users.appendChild(el("option", { value: u.login }, u.name)); });
  S.root.appendChild(users);
}
