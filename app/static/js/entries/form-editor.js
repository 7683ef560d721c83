// The form (JSON Schema) editor page: jsoneditor with the live preview.
import "jsoneditor/dist/jsoneditor.min.css";
import "../processes/form-editor.js";
