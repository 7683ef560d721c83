#!/usr/bin/env node
// Copy the built front-end files Ducha needs from node_modules/ into
// app/static/vendor/<lib>/ so that pages load them locally (no CDN).
//
// Usage (from the repo root, after `npm ci`):  node scripts/vendor.mjs
//
// Idempotent: each library folder below is removed and copied afresh on every
// run, so stale files never survive an upgrade. Every source path is checked
// before anything is written; a missing one aborts with a clear message.
// Node 20+, no dependencies.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NM = path.join(ROOT, 'node_modules');
const OUT = path.join(ROOT, 'app', 'static', 'vendor');

// dir: folder under app/static/vendor/; pkg: npm package;
// copy: [source inside the package, destination inside dir] (file or folder).
// LICENSE* / NOTICE* files at the package root are copied automatically.
const LIBS = [
  { dir: 'bootstrap', pkg: 'bootstrap', copy: [
    ['dist/css/bootstrap.min.css', 'css/bootstrap.min.css'],
    ['dist/js/bootstrap.bundle.min.js', 'js/bootstrap.bundle.min.js'],
  ] },
  { dir: 'bootstrap-icons', pkg: 'bootstrap-icons', copy: [
    ['font/bootstrap-icons.min.css', 'font/bootstrap-icons.min.css'],
    ['font/fonts', 'font/fonts'],
  ] },
  { dir: 'htmx', pkg: 'htmx.org', copy: [
    ['dist/htmx.min.js', 'htmx.min.js'],
  ] },
  { dir: 'echarts', pkg: 'echarts', copy: [
    ['dist/echarts.min.js', 'echarts.min.js'],
  ] },
  { dir: 'bpmn-js', pkg: 'bpmn-js', copy: [
    ['dist/bpmn-modeler.production.min.js', 'bpmn-modeler.production.min.js'],
    ['dist/bpmn-navigated-viewer.production.min.js', 'bpmn-navigated-viewer.production.min.js'],
    ['dist/assets', 'assets'],
  ] },
  { dir: 'dmn-js', pkg: 'dmn-js', copy: [
    ['dist/dmn-modeler.production.min.js', 'dmn-modeler.production.min.js'],
    ['dist/assets', 'assets'],
  ] },
  { dir: 'tom-select', pkg: 'tom-select', copy: [
    ['dist/css/tom-select.bootstrap5.min.css', 'css/tom-select.bootstrap5.min.css'],
    ['dist/js/tom-select.complete.min.js', 'js/tom-select.complete.min.js'],
  ] },
  { dir: 'flatpickr', pkg: 'flatpickr', copy: [
    ['dist/flatpickr.min.css', 'flatpickr.min.css'],
    ['dist/flatpickr.min.js', 'flatpickr.min.js'],
    ['dist/l10n/zh.js', 'l10n/zh.js'],
  ] },
  { dir: 'jsoneditor', pkg: 'jsoneditor', copy: [
    ['dist/jsoneditor.min.js', 'jsoneditor.min.js'],
    ['dist/jsoneditor.min.css', 'jsoneditor.min.css'],
    ['dist/img', 'img'], // the css refers to ./img/jsoneditor-icons.svg
  ] },
  { dir: 'diff2html', pkg: 'diff2html', copy: [
    ['bundles/css/diff2html.min.css', 'diff2html.min.css'],
    ['bundles/js/diff2html.min.js', 'diff2html.min.js'],
    ['bundles/js/diff2html-ui-slim.min.js', 'diff2html-ui-slim.min.js'],
  ] },
  { dir: 'signature_pad', pkg: 'signature_pad', copy: [
    ['dist/signature_pad.umd.min.js', 'signature_pad.umd.min.js'],
  ] },
];

function fail(msg) {
  console.error(`vendor.mjs: ERROR: ${msg}`);
  process.exit(1);
}

function dirSize(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, e) => n + dirSize(path.join(p, e)), 0);
}

function listFiles(p, base = p) {
  if (!fs.statSync(p).isDirectory()) return [path.relative(base, p)];
  return fs.readdirSync(p).sort().flatMap((e) => listFiles(path.join(p, e), base));
}

// 1. Check everything first, so a failure leaves the vendor folder untouched.
if (!fs.existsSync(NM)) fail(`${NM} not found: run \`npm ci\` in ${ROOT} first.`);
const missing = [];
const plan = LIBS.map((lib) => {
  const pkgDir = path.join(NM, lib.pkg);
  const pkgJson = path.join(pkgDir, 'package.json');
  if (!fs.existsSync(pkgJson)) {
    missing.push(`package "${lib.pkg}" is not installed (${pkgJson})`);
    return null;
  }
  const version = JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version;
  for (const [src] of lib.copy) {
    if (!fs.existsSync(path.join(pkgDir, src))) {
      missing.push(`${lib.pkg}@${version}: source path "${src}" does not exist`);
    }
  }
  const legal = fs.readdirSync(pkgDir).filter((f) => /^(LICEN[CS]E|NOTICE)(\.(md|txt))?$/i.test(f));
  if (!legal.some((f) => /^LICEN/i.test(f))) missing.push(`${lib.pkg}@${version}: no LICENSE file found`);
  return { ...lib, pkgDir, version, legal };
});
if (missing.length) {
  fail(`missing sources (package layout changed? update LIBS in scripts/vendor.mjs):\n  - ${missing.join('\n  - ')}`);
}

// 2. Copy afresh.
fs.mkdirSync(OUT, { recursive: true });
const versions = {};
let total = 0;
for (const lib of plan) {
  const dest = path.join(OUT, lib.dir);
  fs.rmSync(dest, { recursive: true, force: true });
  for (const [src, dst] of [...lib.copy, ...lib.legal.map((f) => [f, f])]) {
    const to = path.join(dest, dst);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(path.join(lib.pkgDir, src), to, { recursive: true, preserveTimestamps: true });
  }
  versions[lib.dir] = { package: lib.pkg, version: lib.version };
  const size = dirSize(dest);
  total += size;
  console.log(`${lib.dir.padEnd(16)} ${lib.pkg}@${lib.version}  ${(size / 1024).toFixed(0)} KiB`);
  if (process.argv.includes('--list')) {
    for (const f of listFiles(dest)) console.log(`    vendor/${lib.dir}/${f}`);
  }
}
fs.writeFileSync(path.join(OUT, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');
console.log(`app/static/vendor: ${plan.length} libraries, ${(total / 1024 / 1024).toFixed(1)} MiB`);
