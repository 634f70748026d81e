// The phone side of the form: a write-ahead queue (IndexedDB, else localStorage, else memory)
// that every answer enters BEFORE the page says 已保存, drained to /api/v1/sync in batches.
// An item leaves the queue only on "stored"/"duplicate"; "rejected"/"conflict" stay, with the reason.
// Each item keeps the form receipt of the page it was made on: the server's proof of when the form
// was opened, which lets it arrive after its link or campaign closed.
var C = JSON.parse(document.getElementById("cfg").textContent), D = C.form, T = C.token;
var $ = function (id) { return document.getElementById(id); };
var f = $("f"), st = $("st"), btn = f.querySelector("[type=submit]");
var CACHE = "pingyi-v1", BATCH = 50, size = BATCH, fails = 0, busy = false, sent = false;
var timer = 0, idb = null, mem = {}, dev = "", rated = {}, nth = 0;
var html = document.documentElement;
f.noValidate = true;  // our own messages, in Chinese, next to the item

function uuid() {
  var c = window.crypto, b = new Uint8Array(16), h = [], i;
  if (c && c.randomUUID) return c.randomUUID();
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (i = 0; i < 16; i++) b[i] = Math.random() * 256 | 0;
  b[6] = b[6] & 15 | 64; b[8] = b[8] & 63 | 128;  // version 4, RFC 4122 variant
  for (i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
  h = h.join("");
  return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
}

function say(text, cls) { st.textContent = text; st.className = "msg " + (cls || ""); }
function two(n) { return (n < 10 ? "0" : "") + n; }
function when(ms) {
  var d = new Date(ms);
  return (d.getMonth() + 1) + "月" + d.getDate() + "日 " + two(d.getHours()) + ":" + two(d.getMinutes());
}

// --- storage: IndexedDB when it opens, localStorage beside it, memory as the last resort ---
var ready = new Promise(function (ok) {
  // Some WebKit builds never answer indexedDB.open: after 3 s go on without it (localStorage);
  // should it open later, new items go there and the queue reads both.
  setTimeout(ok, 3000);
  try {
    var r = indexedDB.open("pingyi", 1);
    r.onupgradeneeded = function () {
      r.result.createObjectStore("q", { keyPath: "id" });
      r.result.createObjectStore("kv");
    };
    r.onsuccess = function () { idb = r.result; ok(); };
    r.onerror = r.onblocked = function () { ok(); };
  } catch (e) { ok(); }
});

// Resolve with the request's result once the transaction has COMMITTED (not merely succeeded).
function tx(name, mode, fn) {
  return ready.then(function () {
    if (!idb) throw new Error("no IndexedDB");
    return new Promise(function (ok, no) {
      var t = idb.transaction(name, mode, { durability: "strict" }), r = fn(t.objectStore(name));
      t.oncomplete = function () { ok(r.result); };
      t.onerror = t.onabort = function () { no(t.error); };
    });
  });
}
function ls() { try { return window.localStorage; } catch (e) { return null; } }
function lsPut(key, value) { ls().setItem(key, JSON.stringify(value)); }  // throws when unusable
function lsGet(key) { try { return JSON.parse(ls().getItem(key)); } catch (e) { return null; } }

// An item may have a copy in more than one place (IndexedDB refusing writes when the phone is
// full, localStorage taking them): each write bumps its revision, and the newest copy counts.
function put(item) {  // resolves true once durable on this phone, false when only in memory
  item.rev = (item.rev || 0) + 1;
  return tx("q", "readwrite", function (s) { return s.put(item); })
    .catch(function () { lsPut("pq:" + item.id, item); })
    .then(function () { delete mem[item.id]; return true; },
          function () { mem[item.id] = item; return false; });
}
function del(id) {
  delete mem[id];
  try { ls().removeItem("pq:" + id); } catch (e) { /* nothing stored there */ }
  return tx("q", "readwrite", function (s) { return s["delete"](id); }).catch(function () {});
}
function all() {
  var found = {}, s = ls(), i, k;
  function keep(r) {  // the newest copy of each item
    if (r && !(found[r.id] && (found[r.id].rev || 0) > (r.rev || 0))) found[r.id] = r;
  }
  if (s) for (i = 0; i < s.length; i++) {
    k = s.key(i);
    if (k && k.indexOf("pq:") === 0) keep(lsGet(k));
  }
  return tx("q", "readonly", function (s) { return s.getAll(); }).catch(function () { return []; })
    .then(function (rows) {
      rows.forEach(keep);
      for (k in mem) keep(mem[k]);
      return Object.keys(found).map(function (k) { return found[k]; })
        .sort(function (a, b) { return a.t - b.t; });
    });
}
function kget(key) {
  return tx("kv", "readonly", function (s) { return s.get(key); }).catch(function () {})
    .then(function (v) { return v == null ? lsGet("pk:" + key) : v; });
}
function kset(key, value) {
  try { lsPut("pk:" + key, value); } catch (e) { /* IndexedDB below may still take it */ }
  return tx("kv", "readwrite", function (s) { return s.put(value, key); }).catch(function () {});
}

// --- this phone's device id, in storage and in the cookie the no-JS form sends ---
var devReady = kget("dev").then(function (v) {
  var m = document.cookie.match(/(?:^|; )pingyi_device=([^;]+)/);
  dev = v || (m && m[1]) || uuid();
  document.cookie = "pingyi_device=" + dev + "; path=/; max-age=34560000; samesite=lax";
  return kset("dev", dev);
});
function ratedKey(unit) { return "r:" + D.campaign.id + ":" + unit; }
