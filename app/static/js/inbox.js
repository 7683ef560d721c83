// Task and instance pages (the diagram is entries/diagram.js): signature pad, common phrases,
// action panels (only the open panel's inputs are submitted) and pickers.
(function () {
  "use strict";

  document.querySelectorAll("canvas[data-signature-target]").forEach(function (canvas) {
    if (!window.SignaturePad) { return; }
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio; canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    var pad = new window.SignaturePad(canvas);
    var input = document.getElementById(canvas.dataset.signatureTarget);
    pad.addEventListener("endStroke", function () { input.value = pad.isEmpty() ? "" : pad.toDataURL("image/png"); });
    var clear = document.querySelector("[data-signature-clear]");
    if (clear) { clear.addEventListener("click", function () { pad.clear(); input.value = ""; }); }
  });

  document.addEventListener("click", function (evt) {
    var a = evt.target.closest("[data-phrase]");
    if (!a) { return; }
    evt.preventDefault();
    var box = document.getElementById("comment");
    box.value = (box.value ? box.value + " " : "") + a.dataset.phrase;
  });

  document.addEventListener("show.bs.collapse", function (evt) {
    document.querySelectorAll("[data-enable-with]").forEach(function (input) {
      input.disabled = ("panel-" + input.dataset.enableWith) !== evt.target.id;
    });
  });

  var timer = null;
  document.addEventListener("input", function (evt) {
    var input = evt.target.closest("[data-picker]");
    if (!input || input.value.length < 1) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var url = "/inbox/pick/" + input.dataset.picker + "?q=" + encodeURIComponent(input.value);
      if (input.dataset.pickerInstance) { url += "&instance=" + encodeURIComponent(input.dataset.pickerInstance); }
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (items) {
          var list = document.getElementById(input.getAttribute("list"));
          if (!list) { return; }
          list.innerHTML = "";
          items.forEach(function (it) {
            var opt = document.createElement("option");
            opt.value = it.value; opt.label = it.label; list.appendChild(opt);
          });
        });
    }, 250);
  });
})();
