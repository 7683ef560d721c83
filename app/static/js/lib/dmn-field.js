// A DMN decision table edited in place of a <textarea data-dmn-field>: dmn-js (in Chinese) shows and edits
// the table; every change is written back into the textarea as XML, so the form posts exactly what the
// server validates. "查看 XML" shows the source; a read-only textarea gets a viewer with no editing.
import DmnModeler from "dmn-js/lib/Modeler";
import DmnViewer from "dmn-js/lib/Viewer";

import translateModule from "../i18n/translate.js";

function mount(textarea) {
  var readOnly = textarea.hasAttribute("readonly") || textarea.hasAttribute("disabled");
  var box = document.createElement("div");
  box.className = "dmn-field border rounded bg-white mb-1";
  box.style.minHeight = "320px";
  box.style.overflow = "auto";
  box.setAttribute("data-dmn-for", textarea.id);
  box.setAttribute("data-code", "");  // rule content (indicator codes the scorer reads), like the XML it edits
  textarea.parentNode.insertBefore(box, textarea);
  var toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "btn btn-link btn-sm px-0";
  toggle.textContent = "查看 XML";
  textarea.parentNode.insertBefore(toggle, textarea.nextSibling);
  textarea.classList.add("d-none");
  toggle.addEventListener("click", function () {
    var hidden = textarea.classList.toggle("d-none");
    toggle.textContent = hidden ? "查看 XML" : "隐藏 XML";
  });

  var Kind = readOnly ? DmnViewer : DmnModeler;
  var editor = new Kind({ container: box, common: { additionalModules: [translateModule] } });
  var loading = true;

  function write() {
    if (loading || readOnly) { return; }
    editor.saveXML({ format: true }).then(function (r) { textarea.value = r.xml; });
  }
  function watch(viewer) {
    if (!viewer || viewer.__duchaField) { return; }
    viewer.__duchaField = true;
    viewer.on("commandStack.changed", write);
  }
  editor.on("views.changed", function () { watch(editor.getActiveViewer()); });

  editor.importXML(textarea.value).then(function () {
    var table = editor.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return table ? editor.open(table) : null;
  }).then(function () {
    loading = false;
    watch(editor.getActiveViewer());
    box.setAttribute("data-import", "ok");
  }).catch(function (err) {
    loading = false;
    box.setAttribute("data-import", "error");
    box.classList.add("d-none");
    textarea.classList.remove("d-none");  // the source stays editable when the table cannot be shown
    var note = document.createElement("div");
    note.className = "alert alert-warning py-1 small";
    note.textContent = "决策表无法以表格显示，请直接编辑 XML：" + err.message;
    textarea.parentNode.insertBefore(note, textarea);
  });

  var form = textarea.form;
  if (form && !readOnly) {
    // Before the form goes, every table of the form writes its last edit back (one handler per form).
    form.__duchaDmnFlush = form.__duchaDmnFlush || [];
    form.__duchaDmnFlush.push(function () {
      if (loading || box.getAttribute("data-import") !== "ok") { return Promise.resolve(); }
      return editor.saveXML({ format: true }).then(function (r) { textarea.value = r.xml; });
    });
    if (!form.__duchaDmnHooked) {
      form.__duchaDmnHooked = true;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        Promise.all(form.__duchaDmnFlush.map(function (f) { return f(); })).then(function () {
          HTMLFormElement.prototype.submit.call(form);
        });
      });
    }
  }
}

document.querySelectorAll("textarea[data-dmn-field]").forEach(mount);
