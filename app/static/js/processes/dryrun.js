// Dry run page: the server renders each state (htmx partial); the diagram follows the path.
(function () {
  "use strict";
  var diagram = document.getElementById("dryrun-diagram");
  // Refusals (422/409) are shown next to the form instead of being dropped by htmx.
  document.body.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if ((status === 422 || status === 409 || status === 400) && evt.detail.requestConfig.elt.closest("#dryrun")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
      evt.detail.target = document.getElementById("dryrun-error");
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "dryrun-state") {
      var error = document.getElementById("dryrun-error");
      if (error) { error.textContent = ""; }
      var marks = document.getElementById("dryrun-marks");
      if (marks && diagram && window.DuchaViewer) {
        window.DuchaViewer.applyMarkers(diagram, JSON.parse(marks.getAttribute("data-markers")));
      }
    }
  });
})();
