// Task, instance and registration pages: signature pad, common phrases, action panels, pickers.
import "../lib/globals-signature.js";
import "../inbox.js";
