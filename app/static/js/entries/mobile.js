// Every signed-in page, after base: the phone layout's behaviour (folded filters, 更多 sheet, two-finger
// diagram zoom, service worker), the camera widget of file fields, and the drafts kept on the phone.
// Order matters: drafts.js restores uploads through the capture widget.
import "../mobile.js";
import "../capture.js";
import "../drafts.js";
