#!/usr/bin/env node
// The front-end build: esbuild bundles Ducha's ES modules (app/static/js/entries/*.js) together with the
// npm libraries they import into app/static/dist/ (one .js and, where CSS is imported, one .css per
// page kind; fonts and images beside them). Nothing is loaded from a CDN.
//
// Usage (from the repo root, after `npm ci`):  node scripts/build.mjs        (make deps runs it)
//                                              node scripts/build.mjs --dev  (not minified, with source maps)
// The output is not committed (app/static/dist/ is in .gitignore): `make deps` builds it on install and
// rebuilds it whenever package-lock.json, this script or a file under app/static/js/ changes.
// Node 20+.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'app', 'static', 'js', 'entries');
const OUT = path.join(ROOT, 'app', 'static', 'dist');
const dev = process.argv.includes('--dev');

function fail(msg) {
  console.error(`build.mjs: ERROR: ${msg}`);
  process.exit(1);
}

if (!fs.existsSync(path.join(ROOT, 'node_modules'))) fail('node_modules not found: run `npm ci` first.');
const entries = fs.readdirSync(SRC).filter((f) => f.endsWith('.js')).sort();
if (!entries.length) fail(`no entry points in ${SRC}`);

fs.rmSync(OUT, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: entries.map((f) => path.join(SRC, f)),
  outdir: OUT,
  bundle: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  // Whitespace and syntax are minified; identifiers are kept so that the i18n check
  // (tests/test_frontend_build.py) can read every translate("...") call of what was bundled.
  minifyWhitespace: !dev,
  minifySyntax: !dev,
  minifyIdentifiers: false,
  sourcemap: dev,
  legalComments: 'linked',
  charset: 'utf8',
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  loader: {
    '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file', '.png': 'file', '.gif': 'file',
  },
  assetNames: 'assets/[name]-[hash]',
  define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
  metafile: true,
  logLevel: 'warning',
}).catch(() => fail('esbuild failed (see above)'));

// versions.json: the npm packages that went into the bundles, for the about page and the licence notes.
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const versions = {};
for (const name of Object.keys(lock.dependencies || {}).sort()) {
  const pkg = path.join(ROOT, 'node_modules', name, 'package.json');
  if (fs.existsSync(pkg)) versions[name] = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
}
fs.writeFileSync(path.join(OUT, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');

let total = 0;
for (const [file, info] of Object.entries(result.metafile.outputs).sort()) {
  total += info.bytes;
  if (/\.(js|css)$/.test(file)) console.log(`${path.relative(ROOT, file).padEnd(40)} ${(info.bytes / 1024).toFixed(0).padStart(6)} KiB`);
}
console.log(`app/static/dist: ${entries.length} entry points, ${(total / 1024 / 1024).toFixed(1)} MiB`);
