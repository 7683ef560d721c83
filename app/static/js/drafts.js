// The task form kept on the phone while it is being filled (localStorage, one entry per user and task).
// - every change is saved locally; reopening the task (even after a reload without network, through the
//   offline page) restores it;
// - pressing an action without network keeps it and sends it when the network returns; what was typed
//   offline without pressing anything is sent as 暂存 when the network returns;
// - the entry goes once the server has it (a success message after sending), when the task is no longer
//   ours, after 7 days, for any other user of the phone, and at logout (here and Clear-Site-Data).
(function () {
  "use strict";
  var PREFIX = "ducha.draft.";
  var MAX_AGE = 7 * 24 * 3600 * 1000;
  var SENDING = "ducha.sending";

  function store() { try { return window.localStorage; } catch (e) { return null; } }

  function keys() {
    var s = store(), out = [];
    if (!s) { return out; }
    for (var i = 0; i < s.length; i++) { var k = s.key(i); if (k && k.indexOf(PREFIX) === 0) { out.push(k); } }
    return out;
  }
  function read(key) {
    var s = store();
    try { return s ? JSON.parse(s.getItem(key) || "null") : null; } catch (e) { return null; }
  }
  function keyFor(uid, task) { return PREFIX + uid + "." + task; }

  var api = {
    all: function () { return keys().map(read).filter(Boolean); },
    get: function (uid, task) { return read(keyFor(uid, task)); },
    put: function (draft) {
      var s = store();
      if (!s) { return false; }
      try { s.setItem(keyFor(draft.uid, draft.task), JSON.stringify(draft)); return true; } catch (e) { return false; }
    },
    remove: function (uid, task) { var s = store(); if (s) { s.removeItem(keyFor(uid, task)); } },
    // Everything this app keeps on the phone: drafts, the sending marker, the cache of the service worker.
    purgeAll: function () {
      var s = store();
      keys().forEach(function (k) { s.removeItem(k); });
      try { window.sessionStorage.removeItem(SENDING); } catch (e) { /* storage disabled */ }
      if (window.caches) { caches.keys().then(function (ks) { ks.forEach(function (k) { caches.delete(k); }); }); }
    },
    // Drafts of other users of this phone, and old ones, go.
    purgeOthers: function (uid) {
      var s = store(), now = Date.now();
      keys().forEach(function (k) {
        var d = read(k);
        if (!d || String(d.uid) !== String(uid) || now - (d.savedAt || 0) > MAX_AGE) { s.removeItem(k); }
      });
    }
  };
  window.DuchaDrafts = api;

  var meta = document.querySelector('meta[name="ducha-user"]');
  var uid = meta ? meta.content : null;

  // Logout: clear before the request leaves (the server's Clear-Site-Data answer clears again).
  document.addEventListener("submit", function (evt) {
    if (/\/logout$/.test(evt.target.getAttribute("action") || "")) { api.purgeAll(); }
  }, true);

  if (!uid) { return; }
  api.purgeOthers(uid);

  var form = document.getElementById("task-form");
  var match = form && /\/inbox\/tasks\/(\d+)\/act$/.exec(form.getAttribute("action") || "");
  var task = match ? match[1] : null;

  // Did the last send reach the server? A success message on the next page says it did.
  var sending = null;
  try { sending = JSON.parse(window.sessionStorage.getItem(SENDING) || "null"); window.sessionStorage.removeItem(SENDING); } catch (e) { sending = null; }
  var succeeded = sending && Date.now() - sending.at < 5 * 60 * 1000 && document.querySelector(".alert-success");
  if (succeeded) { api.remove(uid, sending.task); }

  if (!task) { return; }
  var actable = !!document.querySelector("#task-buttons .btn");
  if (!actable) { api.remove(uid, task); return; }

  var LABELS = {};
  function labelOf(el) {
    if (LABELS[el.name]) { return LABELS[el.name]; }
    var l = el.id && document.querySelector('label[for="' + el.id + '"]');
    var group = el.closest(".mb-3");
    var text = (l && !el.matches("[type=radio],[type=checkbox]") ? l.textContent : (group && group.querySelector(".form-label") ? group.querySelector(".form-label").textContent : el.name));
    LABELS[el.name] = (text || el.name).replace(/\*/g, "").trim();
    return LABELS[el.name];
  }
  function skip(el) {
    return !el.name || el.disabled || el.name === "csrf_token" || el.name === "signature" ||
      el.type === "file" || el.type === "submit" || el.type === "button" || el.closest(".collapse, .modal") ||
      (el.type === "hidden" && !/__uploaded$/.test(el.name));
  }

  function collect() {
    var values = {}, checked = {}, labels = {}, multiline = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (skip(el) || /__uploaded$/.test(el.name)) { return; }
      labels[el.name] = labelOf(el);
      if (el.type === "checkbox" || el.type === "radio") {
        checked[el.name] = checked[el.name] || [];
        if (el.checked) { checked[el.name].push(el.value); }
        return;
      }
      if (el.tagName === "TEXTAREA") { multiline.push(el.name); }
      (values[el.name] = values[el.name] || []).push(el.value);
    });
    return { values: values, checked: checked, labels: labels, multiline: multiline };
  }

  var previous = api.get(uid, task);
  function save(extra) {
    var d = collect();
    var draft = {
      v: 1, uid: uid, task: task, url: location.pathname, title: (document.querySelector("h1") || {}).textContent || "",
      savedAt: Date.now(), values: d.values, checked: d.checked, labels: d.labels, multiline: d.multiline,
      uploads: window.DuchaCapture ? window.DuchaCapture.state() : (previous && previous.uploads) || {},
      pending: (previous && previous.pending) || null, offlineEdits: (previous && previous.offlineEdits) || false
    };
    Object.keys(extra || {}).forEach(function (k) { draft[k] = extra[k]; });
    previous = draft;
    api.put(draft);
    return draft;
  }

  function restore(d) {
    var seen = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (skip(el) || /__uploaded$/.test(el.name)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        if (d.checked && d.checked[el.name]) { el.checked = d.checked[el.name].indexOf(el.value) >= 0; }
        return;
      }
      var list = d.values && d.values[el.name];
      if (!list) { return; }
      var i = seen[el.name] || 0;
      if (i < list.length) { el.value = list[i]; }
      seen[el.name] = i + 1;
    });
    if (window.DuchaCapture && d.uploads) { window.DuchaCapture.restore(d.uploads); }
  }

  function banner(kind, html, id) {
    var old = document.getElementById(id);
    if (old) { old.remove(); }
    var div = document.createElement("div");
    div.className = "alert alert-" + kind + " offline-banner small";
    div.id = id;
    div.setAttribute("role", "status");
    div.innerHTML = html;
    form.parentNode.insertBefore(div, form);
    return div;
  }
  function esc(text) { var d = document.createElement("div"); d.textContent = text; return d.innerHTML; }
  function clock(ms) { var t = new Date(ms); return ("0" + t.getHours()).slice(-2) + ":" + ("0" + t.getMinutes()).slice(-2); }

  if (previous && !succeeded) {
    restore(previous);
    var b = banner("info", "已恢复本机保存的填写内容（" + clock(previous.savedAt) + "）。" +
      ' <button type="button" class="btn btn-link btn-sm p-0 align-baseline" data-draft-discard>丢弃本机内容</button>', "draft-restored");
    b.querySelector("[data-draft-discard]").addEventListener("click", function () { api.remove(uid, task); location.reload(); });
  } else if (succeeded) {
    previous = null;
  }

  var timer = null, dirty = false;
  function changed() {
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { save(navigator.onLine ? {} : { offlineEdits: true }); }, 300);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  document.addEventListener("ducha:uploads-changed", changed);
  window.addEventListener("pagehide", function () { if (dirty) { save(navigator.onLine ? {} : { offlineEdits: true }); } });

  function button(action) { return form.querySelector('button[name="action"][value="' + action + '"]'); }

  form.addEventListener("submit", function (evt) {
    var action = evt.submitter && evt.submitter.name === "action" ? evt.submitter.value : null;
    if (!navigator.onLine) {
      evt.preventDefault();
      evt.stopPropagation();
      save({ pending: action, offlineEdits: true });
      var label = evt.submitter ? evt.submitter.textContent.trim() : "提交";
      banner("warning", "网络未连接：填写内容已保存在本机，恢复网络后将自动" + esc(label) + "。", "draft-offline");
      return;
    }
    if (evt.defaultPrevented) { return; }
    save({ pending: action });
    try { window.sessionStorage.setItem(SENDING, JSON.stringify({ task: task, at: Date.now(), action: action })); } catch (e) { /* storage disabled */ }
  });

  function sendNow() {
    var d = api.get(uid, task);
    if (!d) { return; }
    var b = d.pending && button(d.pending);
    if (b) {
      banner("info", "网络已恢复，正在发送…", "draft-offline");
      form.requestSubmit(b);
      return;
    }
    if (d.offlineEdits && button("draft")) {
      var data = new FormData(form);
      data.set("action", "draft");
      fetch(form.action, { method: "POST", body: data, credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        save({ offlineEdits: false });
        banner("success", "网络已恢复，离线填写的内容已自动暂存到服务器。", "draft-offline");
      }).catch(function () {
        banner("warning", "网络已恢复，但自动暂存未成功，请点“暂存”或“提交”。", "draft-offline");
      });
    }
  }
  window.addEventListener("online", sendNow);
  window.addEventListener("offline", function () {
    banner("warning", "网络已断开：继续填写即可，内容保存在本机。", "draft-offline");
  });
  // Opened from the offline page, or the last send did not get through: send what is pending.
  if (previous && previous.pending && navigator.onLine && !document.getElementById("form-error")) {
    var pb = button(previous.pending);
    if (pb) {
      var pl = esc(pb.textContent.trim());
      var nb = banner("warning", "上次" + pl + "可能未送达，内容已恢复。" +
        ' <button type="button" class="btn btn-sm btn-warning ms-2" data-draft-resend>重新' + pl + "</button>", "draft-offline");
      nb.querySelector("[data-draft-resend]").addEventListener("click", function () { form.requestSubmit(pb); });
    }
  }
})();
