// Entry point of the simple approval designer (仿钉钉): wiring of buttons and keys, first render.
import { S } from "./state.js";
import { card, closeMenus, renderCanvas } from "./canvas.js";
import { deploy, openModeler, save, showXml, validate } from "./server.js";
import { renderPanel } from "./panel.js";
import { undo } from "./model.js";

if (S.root) {
  document.getElementById("btn-undo").addEventListener("click", undo);
  document.getElementById("btn-validate").addEventListener("click", validate);
  document.getElementById("btn-save").addEventListener("click", save);
  document.getElementById("btn-deploy").addEventListener("click", deploy);
  document.getElementById("btn-xml").addEventListener("click", showXml);
  document.getElementById("btn-xml-close").addEventListener("click", function () {
    document.getElementById("designer-xml-card").classList.add("d-none");
  });
  var modeler = document.getElementById("btn-modeler");
  if (S.config.urls.modeler) {
    modeler.classList.remove("d-none");
    modeler.addEventListener("click", openModeler);
  }
  document.addEventListener("click", closeMenus);
  document.addEventListener("keydown", function (evt) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test((evt.target && evt.target.tagName) || "");
    if ((evt.ctrlKey || evt.metaKey) && evt.key === "z" && !typing) { evt.preventDefault(); undo(); }
    if (evt.key === "Escape") { closeMenus(); }
    if (evt.key === "Enter" && evt.target && evt.target.classList && evt.target.classList.contains("dd-node")) { evt.target.click(); }
  });
  window.addEventListener("beforeunload", function (evt) {
    if (S.dirty) { evt.preventDefault(); evt.returnValue = ""; }
  });
  renderCanvas();
  renderPanel();
}
