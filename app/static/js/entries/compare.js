// Version comparison: the text diff drawn by diff2html.
import "diff2html/bundles/css/diff2html.min.css";
import "../lib/globals-diff2html.js";
import "../processes/compare.js";
