// Every page: Bootstrap, htmx, the shared page behaviour, searchable pickers and the Chinese date picker.
import "bootstrap/dist/css/bootstrap.min.css";
import "bootstrap-icons/font/bootstrap-icons.min.css";
import "../lib/globals-base.js";
import "../app.js";
import "tom-select/dist/css/tom-select.bootstrap5.min.css";
import "flatpickr/dist/flatpickr.min.css";
import { initPickers } from "../lib/pickers.js";

initPickers(document);
document.addEventListener("htmx:afterSwap", (evt) => initPickers(evt.detail.target));
import { initOrgTree } from "../lib/org-tree.js";

document.querySelectorAll("table[data-org-tree]").forEach(initOrgTree);
