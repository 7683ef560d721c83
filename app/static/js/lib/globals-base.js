// Libraries every page uses, as the globals the page scripts expect (window.bootstrap, window.htmx).
// Imported first by entries/base.js: ES imports run in order, so later modules see the globals.
import * as bootstrap from "bootstrap";
import htmx from "htmx.org/dist/htmx.esm.js";

window.bootstrap = bootstrap;
window.htmx = htmx;
