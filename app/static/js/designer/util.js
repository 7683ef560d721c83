// Small helpers: elements, requests, messages, ids, lookups of the tree and the catalog.
import { S } from "./state.js";

export function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) { return; }
    if (k === "className") { node.className = v; } else { node.setAttribute(k, v === true ? "" : v); }
  });
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

export function icon(name) { return el("i", { className: "bi bi-" + name, "aria-hidden": "true" }); }

export function clone(value) { return JSON.parse(JSON.stringify(value)); }

export function csrfToken() {
  var meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function post(url, body) {
  return fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body)
  }).then(function (resp) {
    return resp.json().catch(function () { return { ok: false, message: "服务器返回了无法识别的内容（HTTP " + resp.status + "）" }; })
      .then(function (data) { data.httpStatus = resp.status; return data; });
  }, function () { return { ok: false, message: "网络错误，请稍后重试" }; });
}

export function show(kind, text, link) {
  S.message.className = "alert py-2 alert-" + kind;
  S.message.textContent = text;
  if (link) {
    S.message.appendChild(document.createTextNode(" "));
    S.message.appendChild(el("a", { href: link.href, className: "alert-link", id: link.id }, link.text));
  }
}

export function allIds() {
  var ids = {};
  ids[S.tree.start.id] = true; ids[S.tree.end.id] = true;
  eachNode(S.tree.nodes, function (n) {
    ids[n.id] = true;
    (n.branches || []).forEach(function (b) { ids[b.id] = true; });
  });
  return ids;
}

export function newId(prefix) {
  var ids = allIds();
  var id;
  do { S.uid += 1; id = prefix + "_" + Math.random().toString(36).slice(2, 8) + S.uid.toString(36); } while (ids[id]);
  return id;
}

export function eachNode(list, fn) {
  list.forEach(function (n) {
    fn(n);
    (n.branches || []).forEach(function (b) { eachNode(b.nodes, fn); });
  });
}

export function findNode(id) {
  var found = null;
  (function search(list) {
    list.forEach(function (n, i) {
      if (n.id === id) { found = { node: n, list: list, index: i }; }
      (n.branches || []).forEach(function (b, j) {
        if (b.id === id) { found = { branch: b, node: n, index: j }; }
        search(b.nodes);
      });
    });
  })(S.tree.nodes);
  return found;
}

export function startFields() {
  var form = S.catalog.forms[S.tree.start.form];
  return form ? form.fields : [];
}

export function fieldInfo(name) {
  return startFields().filter(function (f) { return f.name === name; })[0] || null;
}

export function roleName(code) {
  var r = S.catalog.roles.filter(function (x) { return x.code === code; })[0];
  return r ? r.name : code;
}

export function userName(login) {
  var u = S.catalog.users.filter(function (x) { return x.login === login; })[0];
  return u ? u.name : login;
}

export function splitList(text) {
  return String(text || "").replace(/，/g, ",").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
}

export function typed(raw, field) {
  var type = field ? field.type : null;
  var text = String(raw === undefined || raw === null ? "" : raw).trim();
  if ((type === "integer" || type === "number") && text !== "" && !isNaN(Number(text))) { return Number(text); }
  if (type === "boolean") { return text === "true"; }
  if (!field && text !== "" && /^-?\d+(\.\d+)?$/.test(text)) { return Number(text); }
  return text;
}
