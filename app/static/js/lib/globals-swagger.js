// Swagger UI as the global the page script expects (imported first by entries/api-docs.js).
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-bundle.js";

window.SwaggerUIBundle = SwaggerUIBundle;
