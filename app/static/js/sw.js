// Service worker of the home-screen app. It keeps ONLY the offline page and the static files that page
// needs, and answers a page request from that cache only when the network fails. It never stores a
// page, a list, an API answer or an attachment: no case data lands in the phone's cache storage.
"use strict";
var CACHE = "ducha-shell-v1";
var SHELL = [
  "/offline",
  "/static/dist/base.css",
  "/static/css/app.css",
  "/static/css/mobile.css",
  "/static/js/offline.js",
  "/static/icons/icon-192.png"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (req.mode === "navigate") {
    // Network first, always; the offline page only when there is no network at all.
    event.respondWith(fetch(req).catch(function () { return caches.match("/offline"); }));
    return;
  }
  if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(req).catch(function () { return caches.match(url.pathname); }));
  }
});
