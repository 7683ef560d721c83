// Simplified Chinese for bpmn-js, dmn-js and the properties panel: bpmn-js-i18n's translation completed
// by zh-extra.json (tests/test_frontend_build.py fails on any string of the bundles missing from both).
import base from "bpmn-js-i18n/translations/zn.js";
import extra from "./zh-extra.json";

export const zh = { ...base, ...extra };

export function translate(template, replacements) {
  const text = zh[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : `{${key}}`));
}

// A diagram-js module overriding the default (English) translate service.
export default { translate: ["value", translate] };
