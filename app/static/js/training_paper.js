// 执法比武 paper: autosave every few seconds (only what changed), the clock from the server, answers kept
// in localStorage while the connection is down and sent again when it is back (or after a reload).
(function () {
  "use strict";
  var form = document.getElementById("paper-form");
  if (!form) { return; }
  var url = form.dataset.saveUrl;
  var interval = parseInt(form.dataset.interval || "5000", 10);
  var key = "ducha-paper:" + url;
  var clock = document.getElementById("clock");
  var state = document.getElementById("save-state");
  var remaining = parseInt(clock.dataset.remaining, 10);
  var deadline = Date.now() + remaining * 1000;
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  var dirty = {};
  var busy = false;
  var finished = false;

  function current(name) {
    var els = form.querySelectorAll('[name="' + name + '"]');
    var out = "";
    els.forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) { out += el.value; } } else { out = el.value; }
    });
    return out;
  }
  function restore() {
    var pending = {};
    try { pending = JSON.parse(localStorage.getItem(key) || "{}"); } catch (e) { pending = {}; }
    Object.keys(pending).forEach(function (qid) {
      var value = pending[qid];
      form.querySelectorAll('[name="q_' + qid + '"]').forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") { el.checked = value.indexOf(el.value) >= 0; } else { el.value = value; }
      });
      dirty[qid] = value;
    });
  }
  function remember() { try { localStorage.setItem(key, JSON.stringify(dirty)); } catch (e) { /* private mode */ } }
  function show(text, cls) { state.textContent = text; state.className = "small " + (cls || "text-muted"); }

  function save() {
    if (busy || finished) { return Promise.resolve(); }
    var sending = dirty;
    if (!Object.keys(sending).length) { return Promise.resolve(); }
    busy = true;
    dirty = {};
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ answers: sending })
    }).then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, d: d }; });
    }).then(function (res) {
      busy = false;
      if (res.ok) {
        deadline = Date.now() + res.d.remaining * 1000;
        remember();
        show("已自动保存 " + res.d.at.slice(11), "text-success");
      } else {
        finished = /截止|交卷/.test(res.d.message || "");
        show(res.d.message || "保存失败", "text-danger");
        if (finished) { localStorage.removeItem(key); setTimeout(function () { location.reload(); }, 3000); }
      }
    }).catch(function () {
      busy = false;
      Object.keys(sending).forEach(function (k) { if (!(k in dirty)) { dirty[k] = sending[k]; } });
      remember();
      show("网络中断，答案已暂存在本机，恢复后自动上传", "text-warning");
    });
  }

  form.addEventListener("change", function (e) {
    var name = e.target.name || "";
    if (name.indexOf("q_") !== 0) { return; }
    dirty[name.slice(2)] = current(name);
    remember();
  });
  form.addEventListener("input", function (e) {
    var name = e.target.name || "";
    if (name.indexOf("q_") === 0 && e.target.tagName === "TEXTAREA") { dirty[name.slice(2)] = e.target.value; remember(); }
  });
  form.addEventListener("submit", function (e) {
    if (!finished && remaining > 0 && !window.confirm("确定交卷？交卷后不能再修改答案。")) { e.preventDefault(); return; }
    finished = true;
    localStorage.removeItem(key);
  });

  function tick() {
    remaining = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var m = Math.floor(remaining / 60), s = remaining % 60;
    clock.textContent = "剩余 " + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    clock.className = "fs-5 fw-bold" + (remaining < 300 ? " text-danger" : "");
    if (remaining <= 0 && !finished) { finished = true; localStorage.removeItem(key); form.submit(); }
  }
  restore();
  tick();
  setInterval(tick, 1000);
  setInterval(save, interval);
  window.addEventListener("online", save);
  window.duchaPaperSave = save;
})();
