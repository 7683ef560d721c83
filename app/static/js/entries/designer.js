// The simple (DingTalk-style) approval designer.
import "../designer.js";
