// Shared behaviour of the process editors (BPMN, DMN, form JSON): save drafts, validate, deploy.
// Configuration comes from data-config on #process-editor (no inline scripts: CSP).

export function csrfToken() {
  var meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function request(url, options) {
  options = options || {};
  var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken() };
  var init = { method: options.method || "GET", headers: headers, credentials: "same-origin" };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  return fetch(url, init).then(function (resp) {
    var type = resp.headers.get("Content-Type") || "";
    var body = type.indexOf("json") >= 0 ? resp.json() : resp.text();
    return body.then(function (data) { return { ok: resp.ok, status: resp.status, data: data }; });
  });
}

function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "className") { node.className = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
  });
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

function timeNow() {
  var d = new Date();
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map(function (n) { return n < 10 ? "0" + n : n; }).join(":");
}

function EditorShell(options) {
  var root = document.getElementById("process-editor");
  this.config = JSON.parse(root.getAttribute("data-config"));
  this.options = options;
  this.dirty = false;
  this.timer = null;
  this.status = document.getElementById("editor-status");
  this.message = document.getElementById("editor-message");
  this.problemsBox = document.getElementById("problems");
  var self = this;
  var bind = function (id, fn) {
    var button = document.getElementById(id);
    if (button) { button.addEventListener("click", function () { fn.call(self); }); }
  };
  bind("btn-save", function () {
    self.explicitSave = true;
    self.save().catch(function () { return null; }).then(function () { self.explicitSave = false; });
  });
  bind("btn-validate", function () { self.validate(); });
  bind("btn-deploy", function () { self.deploy(); });
  window.addEventListener("beforeunload", function (evt) {
    if (self.dirty) { evt.preventDefault(); evt.returnValue = ""; }
  });
}

EditorShell.prototype.setStatus = function (text) {
  if (this.status) { this.status.textContent = text; }
};

EditorShell.prototype.show = function (kind, text) {
  if (!this.message) { return; }
  this.message.className = "alert py-2 alert-" + kind;
  this.message.textContent = text;
};

// Called by an editor on every change: autosave after a pause, so nothing is lost.
EditorShell.prototype.changed = function () {
  var self = this;
  this.dirty = true;
  this.setStatus("有未保存的修改");
  window.clearTimeout(this.timer);
  this.timer = window.setTimeout(function () { self.save(); }, 3000);
};

EditorShell.prototype.save = function (allowLoss) {
  var self = this;
  window.clearTimeout(this.timer);
  return Promise.resolve(this.options.getText()).then(function (text) {
    return request(self.config.urls.file, { method: "POST", json: { text: text, allow_loss: !!allowLoss } });
  }).then(function (resp) {
    if (isLossy(resp)) { return self.lossySave(resp, allowLoss); }
    if (!resp.ok) { throw new Error((resp.data && resp.data.message) || "保存失败"); }
    self.dirty = false;
    self.setStatus("草稿已保存 " + timeNow());
    return resp;
  }).catch(function (err) {
    if (err && err.kept) { throw err; }
    self.show("danger", "保存草稿失败：" + err.message);
    throw err;
  });
};

// The server refuses a re-export that lost shapes of the stored file (409 with errors.lost).
function isLossy(resp) {
  return resp.status === 409 && resp.data && resp.data.errors && resp.data.errors.lost;
}

// Keep the original: say so, and offer to save anyway only when the person pressed 保存.
EditorShell.prototype.lossySave = function (resp, allowLoss) {
  this.dirty = true;
  this.setStatus("编辑器导出的文件不完整，原文件已保留");
  this.show("warning", resp.data.message);
  if (!allowLoss && this.explicitSave && window.confirm(resp.data.message + "\n\n仍要保存编辑器导出的文件吗？")) {
    return this.save(true);
  }
  var err = new Error(resp.data.message);
  err.kept = true;
  throw err;
};

// Validate and deploy use what the person saved: save first only when there are unsaved edits,
// and if that save is refused as lossy, go on with the stored original.
EditorShell.prototype.saveIfDirty = function () {
  var self = this;
  this.kept = null;
  if (!this.dirty) { return Promise.resolve(null); }
  return this.save().catch(function (err) {
    if (err && err.kept) { self.kept = err.message; return null; }
    throw err;
  });
};

EditorShell.prototype.validate = function () {
  var self = this;
  return this.saveIfDirty().then(function () {
    return request(self.config.urls.validate, { method: "POST", json: {} });
  }).then(function (resp) {
    var data = resp.data || {};
    self.renderProblems(data.problems || [], data.layout || {});
    var kept = self.kept ? "（校验的是已保存的原文件：" + self.kept + "）" : "";
    if (data.ok) {
      self.show(kept ? "warning" : "success", "校验通过" + (data.problems && data.problems.length ? "（有 " + data.problems.length + " 条提示）" : "") + "，可以部署" + kept);
    } else {
      self.show("danger", "校验未通过：" + data.errors + " 个错误，见右侧列表" + kept);
    }
    return data;
  });
};

EditorShell.prototype.deploy = function () {
  var self = this;
  var comment = document.getElementById("deploy-comment");
  return this.saveIfDirty().then(function () {
    self.show("info", "正在部署……");
    return request(self.config.urls.deploy, { method: "POST", json: { comment: comment ? comment.value : "" } });
  }).then(function (resp) {
    var data = resp.data || {};
    if (resp.ok && data.ok) {
      self.show("success", data.message);
      self.dirty = false;
      window.location.assign(data.url);
      return data;
    }
    if (data.problems) { self.renderProblems(data.problems, {}); }
    self.show("danger", "部署失败：" + (data.message || "请求失败"));
    return data;
  });
};

EditorShell.prototype.renderProblems = function (problems, layout) {
  var self = this;
  var box = this.problemsBox;
  if (!box) { return; }
  box.textContent = "";
  Object.keys(layout || {}).forEach(function (file) {
    box.appendChild(el("div", { className: "alert alert-warning py-1 px-2 mb-1" }, file + "：" + layout[file]));
  });
  if (!problems.length) {
    box.appendChild(el("p", { className: "text-success mb-0" }, "没有发现问题"));
  }
  var list = el("ul", { className: "list-unstyled mb-0 problem-list" });
  problems.forEach(function (p) {
    var item = el("li", { className: "problem problem-" + p.severity, tabindex: "0", "data-element-id": p.element_id || "" });
    item.appendChild(el("span", { className: "badge " + (p.severity === "error" ? "text-bg-danger" : "text-bg-warning") },
      p.severity === "error" ? "错误" : "警告"));
    if (p.element_id) { item.appendChild(el("code", { className: "ms-1" }, p.element_id)); }
    var where = p.file + (p.line ? ":" + p.line : "");
    item.appendChild(el("span", { className: "text-muted ms-1" }, where));
    item.appendChild(el("div", { className: "problem-message" }, p.message));
    var pick = function () { if (self.options.selectProblem) { self.options.selectProblem(p); } };
    item.addEventListener("click", pick);
    item.addEventListener("keydown", function (evt) { if (evt.key === "Enter") { pick(); } });
    list.appendChild(item);
  });
  box.appendChild(list);
  if (this.options.highlight) { this.options.highlight(problems); }
};

export { EditorShell as Shell, request, el };
