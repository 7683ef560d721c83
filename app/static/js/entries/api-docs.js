// The API documentation page (/api-docs): Swagger UI over /api/v1/openapi.json.
import "../lib/globals-swagger.js";
import "swagger-ui-dist/swagger-ui.css";
import "../api-docs.js";
