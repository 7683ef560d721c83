// Every page: Bootstrap, htmx, the shared page behaviour, searchable pickers and the Chinese date picker.
import "bootstrap/dist/css/bootstrap.min.css";
import "bootstrap-icons/font/bootstrap-icons.min.css";
import "../lib/globals-base.js";
import "../app.js";
