// Phone behaviour of every page (styles in css/mobile.css):
// - filter forms marked data-mobile-fold fold into one 筛选 button;
// - on the task page the secondary actions (退回, 转办, …) move into a 更多 sheet above the bottom bar;
// - process diagrams zoom with two fingers and pan with one finger sideways;
// - the service worker of the home-screen app is registered (static/js/sw.js: offline page only).
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 767.98px)");

  // ---- 筛选 ----
  document.querySelectorAll("form[data-mobile-fold]").forEach(function (form, n) {
    if (!form.id) { form.id = "fold-" + n; }
    var active = Array.prototype.filter.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.type === "submit") { return false; }
      if (el.type === "checkbox" || el.type === "radio") { return el.checked; }
      return el.value && !(el.name === "sort" && el.selectedIndex === 0);
    }).length;
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "btn btn-sm btn-outline-secondary fold-toggle mb-2";
    btn.setAttribute("aria-controls", form.id);
    btn.setAttribute("aria-expanded", "false");
    btn.innerHTML = '<i class="bi bi-funnel"></i> 筛选' + (active ? ' <span class="badge text-bg-primary">' + active + "</span>" : "") +
      ' <i class="bi bi-chevron-down float-end"></i>';
    btn.addEventListener("click", function () {
      var open = form.classList.toggle("is-open");
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    });
    form.insertAdjacentElement("beforebegin", btn);
    // After a filter is applied on the phone the panel closes again.
    form.addEventListener("submit", function () { if (phone.matches) { form.classList.remove("is-open"); btn.setAttribute("aria-expanded", "false"); } });
  });

  // ---- 更多 on the task page's bottom bar ----
  var bar = document.getElementById("task-buttons");
  if (bar) {
    var secondary = Array.prototype.filter.call(bar.children, function (b) {
      return b.matches("button[type=button], a.btn") && !b.matches("[data-keep-in-bar]");
    });
    if (secondary.length) {
      var more = document.createElement("button");
      more.type = "button";
      more.className = "btn btn-outline-secondary d-md-none";
      more.id = "task-more";
      more.textContent = "更多";
      var backdrop = document.createElement("div");
      backdrop.className = "m-sheet-backdrop"; backdrop.hidden = true;
      var sheet = document.createElement("div");
      sheet.className = "m-sheet"; sheet.hidden = true; sheet.id = "task-more-sheet";
      sheet.setAttribute("role", "menu");
      function close() { sheet.hidden = backdrop.hidden = true; }
      secondary.forEach(function (b) {
        b.classList.add("m-overflow");
        var item = document.createElement("button");
        item.type = "button";
        item.className = "btn btn-outline-primary";
        item.setAttribute("role", "menuitem");
        item.textContent = b.textContent.trim();
        item.addEventListener("click", function () {
          close();
          b.click();
          var target = document.querySelector(b.getAttribute("data-bs-target") || "#none");
          if (target) { window.setTimeout(function () { target.scrollIntoView({ behavior: "smooth", block: "center" }); }, 350); }
        });
        sheet.appendChild(item);
      });
      var cancel = document.createElement("button");
      cancel.type = "button"; cancel.className = "btn btn-light"; cancel.textContent = "取消";
      cancel.addEventListener("click", close);
      sheet.appendChild(cancel);
      more.addEventListener("click", function () { sheet.hidden = backdrop.hidden = false; });
      backdrop.addEventListener("click", close);
      bar.appendChild(more);
      document.body.appendChild(backdrop);
      document.body.appendChild(sheet);
    }
  }

  // ---- two-finger zoom on bpmn-js diagrams (inbox.js dispatches diagram:ready with the viewer) ----
  document.addEventListener("diagram:ready", function (evt) {
    var el = evt.target, canvas = evt.detail.viewer.get("canvas");
    var start = null;
    function point(t) { var r = el.getBoundingClientRect(); return { x: t.clientX - r.left, y: t.clientY - r.top }; }
    function dist(a, b) { return Math.hypot(a.x - b.x, a.y - b.y); }
    el.addEventListener("touchstart", function (e) {
      if (e.touches.length === 2) {
        var a = point(e.touches[0]), b = point(e.touches[1]);
        start = { d: dist(a, b), zoom: canvas.zoom(), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
      } else if (e.touches.length === 1) {
        start = { pan: point(e.touches[0]) };
      }
    }, { passive: true });
    el.addEventListener("touchmove", function (e) {
      if (!start) { return; }
      if (e.touches.length === 2 && start.d) {
        e.preventDefault();
        var a = point(e.touches[0]), b = point(e.touches[1]);
        var scale = Math.min(4, Math.max(0.2, start.zoom * dist(a, b) / start.d));
        canvas.zoom(scale, start.mid);
      } else if (e.touches.length === 1 && start.pan) {
        var p = point(e.touches[0]);
        canvas.scroll({ dx: p.x - start.pan.x, dy: 0 });
        start.pan = p;
      }
    }, { passive: false });
    el.addEventListener("touchend", function (e) { if (e.touches.length === 0) { start = null; } });
  });

  // ---- home-screen app ----
  if ("serviceWorker" in navigator && document.querySelector('meta[name="ducha-user"]')) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the app works without it */ });
  }
})();
