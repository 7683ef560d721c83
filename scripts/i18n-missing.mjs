#!/usr/bin/env node
// Lists the English strings the bundled bpmn-js, dmn-js, diagram-js and properties panel pass to
// translate() that app/static/js/i18n (bpmn-js-i18n's zn.js + zh-extra.json) does not translate.
// Reads the built bundles (identifiers are kept unminified for this): run `node scripts/build.mjs` first.
// Usage: node scripts/i18n-missing.mjs [--json]     exit status 1 when something is missing.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'app', 'static', 'dist');
const BUNDLES = ['modeler.js', 'dmn.js', 'diagram.js'];

function parseStrings(text) {
  return JSON.parse(`"${text}"`);
}

export function wanted() {
  const found = new Set();
  for (const name of BUNDLES) {
    const code = fs.readFileSync(path.join(DIST, name), 'utf8');
    for (const m of code.matchAll(/\btranslate\d*\(\s*"((?:[^"\\]|\\.)*)"/g)) found.add(parseStrings(m[1]));
    // Popup menu entries (create / append / replace): labels translated when the menu opens.
    for (const m of code.matchAll(/\blabel:\s*"([A-Z][A-Za-z \-/()]*)"/g)) found.add(m[1]);
    // Properties panel header: the element's concrete type, split into words.
    const icons = code.match(/iconsByType\d*\s*=\s*\{([^}]*)\}/);
    if (icons) {
      for (const m of icons[1].matchAll(/(?:^|,)\s*"?([A-Za-z]+)"?\s*:/g)) {
        found.add(m[1].replace(/(\B[A-Z])/g, ' $1').replace(/(\bNon Interrupting)/g, '($1)'));
      }
    }
  }
  return [...found].filter((s) => /^[A-Za-z<{(]/.test(s)).sort();
}

async function translations() {
  const base = (await import(path.join(ROOT, 'node_modules', 'bpmn-js-i18n', 'translations', 'zn.js'))).default;
  const extra = JSON.parse(fs.readFileSync(path.join(ROOT, 'app', 'static', 'js', 'i18n', 'zh-extra.json'), 'utf8'));
  return { ...base, ...extra };
}

const zh = await translations();
const missing = wanted().filter((s) => !zh[s]);
if (process.argv.includes('--json')) console.log(JSON.stringify(missing, null, 1));
else missing.forEach((s) => console.log(s));
process.exit(missing.length ? 1 : 0);
