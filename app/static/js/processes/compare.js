// Version comparison: the text diff of every file, drawn by diff2html.
(function () {
  "use strict";
  var source = document.getElementById("text-diff-source");
  var target = document.getElementById("text-diff");
  if (!source || !target || !window.Diff2Html) { return; }
  var diff = source.value;
  if (!diff.trim()) { target.textContent = "文件内容相同"; return; }
  var mode = document.getElementById("diff-mode");
  function draw() {
    target.innerHTML = window.Diff2Html.html(diff, {
      drawFileList: true,
      matching: "lines",
      outputFormat: mode && mode.value === "side" ? "side-by-side" : "line-by-line"
    });
  }
  if (mode) { mode.addEventListener("change", draw); }
  draw();
})();
