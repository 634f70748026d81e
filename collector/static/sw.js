// Keeps visited form pages (/s/<token>) so a visit link reopens with no network.
// Network first, so a page online is always fresh; the cache answers only when the network fails
// or stalls. The page works fully without this worker (WeChat on iOS has none).
var CACHE = "pingyi-v1";
var STALL_MS = 6000;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });

function fromCache(request) {
  return caches.open(CACHE).then(function (c) { return c.match(request, { ignoreSearch: true }); });
}

self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET" || req.mode !== "navigate") return;
  e.respondWith(new Promise(function (resolve, reject) {
    var settled = false;
    function fallback() {
      if (settled) return;
      fromCache(req).then(function (hit) {
        if (hit && !settled) { settled = true; resolve(hit); }
      });
    }
    var stall = setTimeout(fallback, STALL_MS);  // a weak signal that neither answers nor fails
    fetch(req).then(function (res) {
      clearTimeout(stall);
      if (res.ok) {
        var copy = res.clone();
        caches.open(CACHE).then(function (c) { return c.put(req, copy); });
      }
      if (!settled) { settled = true; resolve(res); }
    }, function (err) {
      clearTimeout(stall);
      fromCache(req).then(function (hit) {
        if (settled) return;
        settled = true;
        if (hit) resolve(hit); else reject(err);
      });
    });
  }));
});
