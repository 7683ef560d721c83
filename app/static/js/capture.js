// Evidence from the phone's camera for the file fields of a form.
// - 拍照 / 录像 open the camera (capture="environment"); 选择文件 picks several files at once;
// - photos are re-drawn on a canvas and re-encoded as JPEG until they fit TARGET_BYTES (this also drops
//   the EXIF block, so no position leaves the phone unless the officer ticks 记录拍摄位置);
// - each file carries its time (the file's lastModified, i.e. when it was taken) and, with consent, the
//   position from the Geolocation API;
// - on the task page every file is uploaded on its own (/inbox/tasks/<id>/uploads) with a progress bar,
//   retried with back-off on a weak connection, under one idempotency key per file so a retry after a lost
//   answer is not stored twice; the form then posts only the ids (<field>__uploaded);
// - elsewhere (clue registration) the compressed files replace the chosen ones in the input and their
//   metadata travels in <field>__meta.
(function () {
  "use strict";
  var TARGET_BYTES = 600 * 1024;
  var MAX_SIDE = 1920;
  var BACKOFF = [1, 2, 4, 8, 15, 30];
  var MAX_TRIES = 12;

  var form = document.getElementById("task-form");
  var match = form && /\/inbox\/tasks\/(\d+)\/act$/.exec(form.getAttribute("action") || "");
  var uploadUrl = match ? "/inbox/tasks/" + match[1] + "/uploads" : null;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  var widgets = [];

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function kb(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB"; }
  function hhmm(iso) { var t = new Date(iso); return t.toLocaleString("zh-CN", { hour12: false }); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) { e.className = cls; } if (text) { e.textContent = text; } return e; }

  // A photo, re-encoded to fit the target size. Anything else (video, PDF, GIF) goes as it is.
  function compress(file) {
    if (!/^image\/(jpeg|png|webp|heic|heif|bmp)$/i.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      var side = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
      function encode(scale, quality) {
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(bmp.width * scale));
        canvas.height = Math.max(1, Math.round(bmp.height * scale));
        var ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); }).then(function (blob) {
          if (!blob) { throw new Error("encode"); }
          if (blob.size <= TARGET_BYTES) { return blob; }
          if (quality > 0.45) { return encode(scale, Math.round((quality - 0.1) * 100) / 100); }
          if (canvas.width > 640) { return encode(scale * 0.75, 0.8); }
          return blob;
        });
      }
      return encode(side, 0.85).then(function (blob) {
        if (bmp.close) { bmp.close(); }
        var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
        return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
      });
    }).catch(function () { return file; });
  }

  function locate(widget) {
    if (!widget.geo.checked || !navigator.geolocation) { return Promise.resolve(null); }
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy: p.coords.accuracy });
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
    });
  }

  function describe(item) {
    var parts = [kb(item.size || 0)];
    if (item.taken_at) { parts.push("拍摄 " + hhmm(item.taken_at)); }
    if (item.latitude != null) {
      parts.push("位置 " + Number(item.latitude).toFixed(5) + ", " + Number(item.longitude).toFixed(5) +
        (item.accuracy != null ? " ±" + Math.round(item.accuracy) + " m" : ""));
    }
    return parts.join(" · ");
  }

  // ---- one file on the list ----
  function Item(widget, file) {
    this.widget = widget; this.file = file; this.key = uuid(); this.tries = 0; this.state = "queued";
    this.taken_at = new Date(file.lastModified || Date.now()).toISOString();
    var li = this.li = el("li", "state-queued");
    li.dataset.key = this.key;
    var thumb = el("div", "thumb");
    if (/^image\//.test(file.type) && window.URL) {
      var img = el("img", "thumb"); img.alt = ""; img.src = URL.createObjectURL(file); thumb = img;
    } else { thumb.innerHTML = /^video\//.test(file.type) ? '<i class="bi bi-camera-video"></i>' : '<i class="bi bi-file-earmark"></i>'; }
    var body = el("div");
    this.name = el("div", "small text-truncate", file.name);
    this.meta = el("div", "meta", "等待处理");
    var bar = el("div", "progress"); bar.setAttribute("role", "progressbar"); bar.setAttribute("aria-label", "上传进度");
    this.bar = el("div", "progress-bar"); this.bar.style.width = "0%"; bar.appendChild(this.bar);
    body.appendChild(this.name); body.appendChild(this.meta); body.appendChild(bar);
    this.remove = el("button", "btn btn-sm btn-link text-danger", "移除"); this.remove.type = "button";
    var self = this;
    this.remove.addEventListener("click", function () { self.drop(); });
    li.appendChild(thumb); li.appendChild(body); li.appendChild(this.remove);
    widget.list.appendChild(li);
  }
  Item.prototype.set = function (state, text, pct) {
    this.state = state; this.li.className = "state-" + state;
    if (text != null) { this.meta.textContent = text; }
    if (pct != null) { this.bar.style.width = pct + "%"; this.bar.parentNode.setAttribute("aria-valuenow", pct); }
    if (state === "done") { this.bar.classList.add("bg-success"); }
    if (state === "error") { this.bar.classList.add("bg-danger"); }
  };
  Item.prototype.drop = function () {
    this.state = "removed";
    if (this.xhr) { this.xhr.abort(); }
    if (this.hidden) { this.hidden.remove(); }
    this.li.remove();
    this.widget.changed();
  };
  Item.prototype.prepare = function () {
    var self = this;
    this.set("compressing", "压缩中…");
    return Promise.all([compress(this.file), locate(this.widget)]).then(function (r) {
      self.blob = r[0]; self.size = r[0].size;
      if (r[1]) { self.latitude = r[1].latitude; self.longitude = r[1].longitude; self.accuracy = r[1].accuracy; }
      self.set("ready", describe(self), 0);
      return self;
    });
  };
  Item.prototype.send = function () {
    var self = this;
    if (this.state === "removed") { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("file", self.blob, self.blob.name || self.file.name);
      data.append("field", self.widget.field);
      data.append("key", self.key);
      data.append("taken_at", self.taken_at);
      if (self.latitude != null) {
        data.append("latitude", self.latitude); data.append("longitude", self.longitude);
        if (self.accuracy != null) { data.append("accuracy", self.accuracy); }
      }
      var xhr = self.xhr = new XMLHttpRequest();
      xhr.open("POST", uploadUrl);
      xhr.setRequestHeader("Accept", "application/json");
      if (csrf) { xhr.setRequestHeader("X-CSRFToken", csrf); }
      xhr.timeout = 120000;
      self.tries += 1;
      self.set("uploading", "上传中… " + describe(self), 0);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { self.set("uploading", null, Math.round(e.loaded * 100 / e.total)); }
      };
      function retry(why) {
        if (self.state === "removed") { resolve(); return; }
        if (self.tries >= MAX_TRIES) { self.set("error", why + "，已放弃。点“重试”再试", 100); self.offerRetry(); resolve(); return; }
        var wait = BACKOFF[Math.min(self.tries - 1, BACKOFF.length - 1)];
        self.set("waiting", why + "，" + wait + " 秒后重试（第 " + self.tries + " 次）", 0);
        self.wake = function () { window.clearTimeout(self.timer); self.wake = null; self.send().then(resolve); };
        self.timer = window.setTimeout(function () { if (self.wake) { self.wake(); } }, wait * 1000);
      }
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status === 200 || xhr.status === 201) {
          self.done(body); resolve(); return;
        }
        if (xhr.status >= 500 || xhr.status === 429 || xhr.status === 408) { retry("服务器忙"); return; }
        self.set("error", (body && body.message) || ("上传失败（" + xhr.status + "）"), 100);
        resolve();
      };
      xhr.onerror = function () { retry("网络不稳定"); };
      xhr.ontimeout = function () { retry("上传超时"); };
      xhr.onabort = function () { resolve(); };
      xhr.send(data);
    });
  };
  Item.prototype.offerRetry = function () {
    var self = this, b = el("button", "btn btn-sm btn-link", "重试"); b.type = "button";
    b.addEventListener("click", function () { b.remove(); self.tries = 0; self.widget.queue.push(self); self.widget.pump(); });
    this.meta.appendChild(b);
  };
  Item.prototype.done = function (body) {
    this.id = body.id; this.size = body.size; this.taken_at = body.taken_at;
    this.latitude = body.latitude; this.longitude = body.longitude; this.accuracy = body.accuracy_m;
    this.set("done", "已上传 · " + describe(this), 100);
    this.attach();
    this.widget.changed();
  };
  Item.prototype.attach = function () {
    var h = this.hidden = document.createElement("input");
    h.type = "hidden"; h.name = this.widget.field + "__uploaded"; h.value = this.id;
    this.widget.box.appendChild(h);
  };

  // ---- the widget of one file input ----
  function Widget(input) {
    var self = this;
    this.input = input; this.field = input.name; this.items = []; this.queue = []; this.busy = false;
    this.upload = !!(uploadUrl && form.contains(input));
    var box = this.box = el("div", "capture");
    box.dataset.field = this.field;
    var tools = el("div", "capture-tools");
    function tool(kind, icon, label, accept, capture) {
      var b = el("button", "btn btn-outline-primary btn-sm"); b.type = "button"; b.dataset.capture = kind;
      b.innerHTML = '<i class="bi bi-' + icon + '"></i> ' + label;
      var picker = input;
      if (accept) {
        picker = el("input"); picker.type = "file"; picker.accept = accept; picker.multiple = true; picker.hidden = true;
        picker.setAttribute("capture", capture); picker.setAttribute("aria-label", label);
        box.appendChild(picker);
        picker.addEventListener("change", function () { self.add(picker.files); picker.value = ""; });
      }
      b.addEventListener("click", function () { picker.click(); });
      tools.appendChild(b);
    }
    tool("photo", "camera", "拍照", "image/*", "environment");
    tool("video", "camera-video", "录像", "video/*", "environment");
    tool("file", "paperclip", "选择文件", null, null);
    var geo = el("div", "form-check mb-0");
    this.geo = el("input", "form-check-input"); this.geo.type = "checkbox"; this.geo.id = "geo-" + this.field;
    var gl = el("label", "form-check-label small", "记录拍摄位置"); gl.htmlFor = this.geo.id;
    geo.appendChild(this.geo); geo.appendChild(gl); tools.appendChild(geo);
    try { this.geo.checked = window.localStorage.getItem("ducha.geo") === "1"; } catch (e) { /* storage disabled */ }
    this.geo.addEventListener("change", function () {
      try { window.localStorage.setItem("ducha.geo", self.geo.checked ? "1" : "0"); } catch (e) { /* storage disabled */ }
      if (self.geo.checked && navigator.geolocation) {  // ask for permission now, not at the first photo
        navigator.geolocation.getCurrentPosition(function () {}, function () {
          self.geo.checked = false;
          window.alert("无法获取位置：请在浏览器设置中允许定位，或不记录位置");
        }, { timeout: 8000 });
      }
    });
    this.list = el("ul", "capture-list");
    box.appendChild(tools); box.appendChild(this.list);
    input.classList.add("d-none");
    input.insertAdjacentElement("afterend", box);
    if (this.upload) {
      input.removeAttribute("name");  // files go up one by one; the form carries their ids
      input.addEventListener("change", function () { self.add(input.files); input.value = ""; });
    } else {
      this.meta = el("input"); this.meta.type = "hidden"; this.meta.name = this.field + "__meta"; box.appendChild(this.meta);
      this.kept = [];
      input.addEventListener("change", function () {
        if (self.replacing) { return; }
        self.add(input.files);
      });
    }
  }
  Widget.prototype.add = function (files) {
    var self = this;
    Array.prototype.forEach.call(files || [], function (f) {
      var item = new Item(self, f);
      self.items.push(item);
      self.queue.push(item);
    });
    this.pump();
  };
  Widget.prototype.pump = function () {
    var self = this;
    if (this.busy) { return; }
    var item = this.queue.shift();
    if (!item) { this.changed(); return; }
    this.busy = true;
    var step = item.blob ? Promise.resolve(item) : item.prepare();
    step.then(function () { return self.upload ? item.send() : self.keep(item); })
      .then(function () { self.busy = false; self.pump(); });
  };
  // Form mode (no task yet): the compressed files replace the chosen ones in the input.
  Widget.prototype.keep = function (item) {
    item.set("done", "已压缩 · " + describe(item), 100);
    this.rebuild();
    return Promise.resolve();
  };
  Widget.prototype.rebuild = function () {
    var kept = this.items.filter(function (i) { return i.state === "done" && i.blob; });
    if (window.DataTransfer) {
      var dt = new DataTransfer();
      kept.forEach(function (i) { dt.items.add(i.blob instanceof File ? i.blob : new File([i.blob], i.file.name)); });
      this.replacing = true; this.input.files = dt.files; this.replacing = false;
    }
    this.meta.value = JSON.stringify(kept.map(function (i) {
      return { name: i.blob.name || i.file.name, taken_at: i.taken_at, latitude: i.latitude, longitude: i.longitude, accuracy: i.accuracy };
    }));
  };
  Widget.prototype.pending = function () {
    return this.items.filter(function (i) { return ["queued", "compressing", "ready", "uploading", "waiting"].indexOf(i.state) >= 0; }).length;
  };
  Widget.prototype.changed = function () {
    if (!this.upload && this.meta) { this.rebuild(); }
    document.dispatchEvent(new CustomEvent("ducha:uploads-changed"));
    if (!this.pending() && waiting && waiting.form.isConnected && !pendingCount()) {
      var w = waiting; waiting = null; w.form.requestSubmit(w.submitter || undefined);
    }
  };
  Widget.prototype.state = function () {
    return this.items.filter(function (i) { return i.state === "done" && i.id; }).map(function (i) {
      return { id: i.id, name: i.file.name, size: i.size, taken_at: i.taken_at, latitude: i.latitude, longitude: i.longitude, accuracy: i.accuracy };
    });
  };
  Widget.prototype.restore = function (saved) {
    var self = this;
    (saved || []).forEach(function (s) {
      if (self.items.some(function (i) { return i.id === s.id; })) { return; }
      var item = new Item(self, new File([], s.name, { type: "" }));
      item.done({ id: s.id, size: s.size, taken_at: s.taken_at, latitude: s.latitude, longitude: s.longitude, accuracy_m: s.accuracy });
      self.items.push(item);
    });
  };

  function pendingCount() { return widgets.reduce(function (n, w) { return n + w.pending(); }, 0); }
  var waiting = null;

  document.querySelectorAll('form input[type="file"][data-capture]').forEach(function (input) {
    if (input.disabled || !input.name) { return; }
    widgets.push(new Widget(input));
  });
  if (!widgets.length) { return; }

  // Submitting while files are still on their way: wait for them, then send the form by itself.
  widgets.forEach(function (w) {
    var f = w.input.form;
    if (!f || f.dataset.captureGuard) { return; }
    f.dataset.captureGuard = "1";
    f.addEventListener("submit", function (evt) {
      if (!navigator.onLine) { return; }  // drafts.js keeps the form and sends it when the network returns
      var n = pendingCount();
      if (!n) { return; }
      evt.preventDefault();
      evt.stopImmediatePropagation();
      waiting = { form: f, submitter: evt.submitter };
      var note = f.querySelector(".capture-wait") || el("div", "alert alert-warning small capture-wait");
      note.textContent = "还有 " + n + " 个文件正在上传，上传完成后将自动提交。";
      (f.querySelector("#task-buttons") || f.lastElementChild).insertAdjacentElement("beforebegin", note);
    });
  });
  window.addEventListener("online", function () {
    widgets.forEach(function (w) { w.items.forEach(function (i) { if (i.state === "waiting" && i.wake) { i.wake(); } }); });
  });

  window.DuchaCapture = {
    state: function () { var out = {}; widgets.forEach(function (w) { if (w.upload) { out[w.field] = w.state(); } }); return out; },
    restore: function (saved) { widgets.forEach(function (w) { if (w.upload && saved[w.field]) { w.restore(saved[w.field]); } }); },
    pending: pendingCount
  };
})();
