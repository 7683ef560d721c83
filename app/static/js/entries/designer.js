// The simple (DingTalk-style) approval designer.
import "../designer/main.js";
