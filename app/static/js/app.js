// Shared page behaviour. No inline scripts (Content-Security-Policy), so pages hook in with data- attributes.
(function () {
  "use strict";
  // htmx requests carry the CSRF token from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // Buttons that ask before acting: <button data-confirm="确定？">
  document.addEventListener("click", function (evt) {
    var el = evt.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { evt.preventDefault(); evt.stopPropagation(); }
  }, true);
  // Double-submit guard: a form disables its submit buttons once sent.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.dataset.submitted === "1") { evt.preventDefault(); return; }
    form.dataset.submitted = "1";
    window.setTimeout(function () { form.dataset.submitted = ""; }, 5000);
  });
})();
