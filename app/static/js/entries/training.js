// 执法比武 paper page: autosave, the server clock, offline answers kept until sent.
import "../training_paper.js";
