import * as Diff2Html from "diff2html";

window.Diff2Html = Diff2Html;
