// The form editor page: jsoneditor (code/tree) with a live preview rendered by the server (htmx partial).
import JSONEditor from "jsoneditor";

import { Shell, request } from "./editor-common.js";
import { FormDesigner } from "./form-designer.js";

(function () {
  var box = document.getElementById("json-editor");
  if (!box) { return; }
  var previewForm = document.getElementById("preview-form");
  var previewText = document.getElementById("preview-text");
  var timer = null;
  var editor;
  var shell = new Shell({ getText: function () { return editor.getText(); } });

  function preview() {
    previewText.value = editor.getText();
    if (window.htmx) { window.htmx.trigger(previewForm, "preview"); }
  }

  // Ace's syntax worker would start from a blob: URL, which the Content-Security-Policy forbids;
  // jsoneditor validates the JSON itself, so the worker is not needed.
  if (window.ace && window.ace.config) { window.ace.config.setDefaultValue("session", "useWorker", false); }
  editor = new JSONEditor(box, {
    mode: "code",
    modes: ["code", "tree"],
    language: "zh-CN",
    mainMenuBar: true,
    onChangeText: function () {
      shell.changed();
      window.clearTimeout(timer);
      timer = window.setTimeout(preview, 400);
    }
  });

  var designerBox = document.getElementById("form-designer");
  var designer = designerBox ? new FormDesigner(designerBox, {
    getText: function () { return editor.getText(); },
    setText: function (text) {
      editor.setText(text);
      shell.changed();
      window.clearTimeout(timer);
      timer = window.setTimeout(preview, 200);
    }
  }) : null;
  document.querySelectorAll("[data-form-view]").forEach(function (tab) {
    tab.addEventListener("click", function () {
      var design = tab.getAttribute("data-form-view") === "design";
      document.querySelectorAll("[data-form-view]").forEach(function (t) { t.classList.toggle("active", t === tab); });
      designerBox.classList.toggle("d-none", !design);
      box.classList.toggle("d-none", design);
      if (design) { designer.render(); }
    });
  });

  request(shell.config.urls.file).then(function (resp) {
    var text = typeof resp.data === "string" ? resp.data : JSON.stringify(resp.data, null, 2);
    editor.setText(text);
    box.setAttribute("data-import", "ok");
    if (designer) { designer.render(); designerBox.setAttribute("data-import", "ok"); }
    preview();
  });
})();
