// Swagger UI over /api/v1/openapi.json; "try it out" requests carry the page's CSRF token.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || !window.SwaggerUIBundle) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    validatorUrl: null,
    requestInterceptor: function (req) {
      if (meta && req.method && req.method.toUpperCase() !== "GET") { req.headers["X-CSRFToken"] = meta.content; }
      return req;
    },
  });
})();
