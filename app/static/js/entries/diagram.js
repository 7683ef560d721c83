// Read-only process diagrams: inbox task and instance pages, admin instance, heatmap and dry run.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "diagram-js-minimap/assets/diagram-js-minimap.css";
import "../../css/diagram.css";
import "../processes/diagram.js";
