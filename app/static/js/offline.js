// The offline page (served by the service worker when a page cannot be loaded). The address bar still
// shows the page that was asked for: if a draft of that task is kept on the phone (drafts.js), show it and
// let the officer go on typing; when the network returns, load the page again, which restores the draft.
(function () {
  "use strict";
  var PREFIX = "ducha.draft.";
  var found = null, key = null;
  try {
    for (var i = 0; i < localStorage.length; i++) {
      var k = localStorage.key(i);
      if (k.indexOf(PREFIX) !== 0) { continue; }
      var d = JSON.parse(localStorage.getItem(k) || "null");
      if (d && d.url === location.pathname && (!found || d.savedAt > found.savedAt)) { found = d; key = k; }
    }
  } catch (e) { found = null; }

  function back() { location.reload(); }
  window.addEventListener("online", back);
  document.getElementById("offline-retry").addEventListener("click", back);
  window.setInterval(function () {
    fetch("/healthz", { cache: "no-store" }).then(function (r) { if (r.ok) { back(); } }).catch(function () { /* still offline */ });
  }, 15000);

  if (!found) { document.getElementById("offline-none").hidden = false; return; }
  var box = document.getElementById("offline-fields");
  document.getElementById("offline-draft").hidden = false;
  var t = new Date(found.savedAt);
  document.getElementById("offline-draft-time").textContent = (found.title || "").trim() + " · " + t.toLocaleString("zh-CN", { hour12: false });

  function save() { found.savedAt = Date.now(); found.offlineEdits = true; localStorage.setItem(key, JSON.stringify(found)); }
  Object.keys(found.values || {}).forEach(function (name) {
    (found.values[name] || []).forEach(function (value, n) {
      var wrap = document.createElement("div");
      wrap.className = "mb-3";
      var label = document.createElement("label");
      label.className = "form-label";
      label.textContent = (found.labels && found.labels[name]) || name;
      var input = document.createElement((found.multiline || []).indexOf(name) >= 0 ? "textarea" : "input");
      input.className = "form-control";
      input.id = "offline-" + name + (n ? "-" + n : "");
      input.dataset.name = name;
      label.htmlFor = input.id;
      if (input.tagName === "TEXTAREA") { input.rows = 4; }
      input.value = value;
      input.addEventListener("input", function () { found.values[name][n] = input.value; save(); });
      wrap.appendChild(label); wrap.appendChild(input); box.appendChild(wrap);
    });
  });
  Object.keys(found.checked || {}).forEach(function (name) {
    var p = document.createElement("p");
    p.className = "small mb-2";
    p.textContent = ((found.labels && found.labels[name]) || name) + "：" + ((found.checked[name] || []).join("、") || "未选");
    box.appendChild(p);
  });
  var uploads = [];
  Object.keys(found.uploads || {}).forEach(function (f) { uploads = uploads.concat(found.uploads[f] || []); });
  if (uploads.length) {
    var u = document.createElement("p");
    u.className = "small text-muted mb-0";
    u.textContent = "已上传的材料：" + uploads.map(function (x) { return x.name; }).join("、");
    box.appendChild(u);
  }
})();
