(function () {
"use strict";
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

// --- reading and checking the form ---
function picked(name) {
  var e = f.querySelector('input[name="' + name + '"]:checked');
  return e ? e.value : "";
}
function needsReason() {
  var label = "";
  D.items.forEach(function (it) {
    var v = picked("a." + it.key);
    it.levels.forEach(function (l) { if (l.key === v && l.needs_reason) label = label || l.label; });
  });
  return label;
}
function mark(id, bad) { var e = $("q-" + id); if (e) e.classList.toggle("x", !!bad); return !!bad; }
function collect() {
  var answers = {}, missing = [], unit = f.elements.unit.value;
  var comment = f.elements.comment.value.trim(), identity = picked("identity"), low = needsReason();
  D.items.forEach(function (it) {
    var v = picked("a." + it.key);
    if (v) answers[it.key] = v;
    if (mark(it.key, it.required && !v)) missing.push(it.label);
  });
  if (mark("unit", !unit)) return "请选择评议对象。";
  if (C.poster && rated[unit]) return "您已评议过该单位，每部手机对每个单位只评议一次。";
  if (missing.length) return "请评价：" + missing.join("、") + "。";
  if (mark("comment", low && !comment)) return "选择“" + low + "”时请在" + D.comment_label + "中写明原因。";
  if (mark("identity", D.identity_required && !identity)) return "请选择评议人员身份。";
  var tel = f.elements.contact.value.replace(/[\s\-()（）]/g, "").replace(/^\+86/, "");
  if (mark("contact", tel && !/^(1[3-9]\d{9}|(010|02\d|0[3-9]\d\d)\d{7,8})$/.test(tel)))
    return "回访电话格式不正确：请填写 11 位手机号或带区号的固定电话，也可不填。";
  return { id: uuid(), token: T, unit: unit, created_at: new Date().toISOString(),
           answers: answers, comment: comment, identity: identity || null, meta: {},
           receipt: D.receipt || null, t: Date.now(), replaces: fixing || null,
           contact: f.elements.contact.value.trim() || null };
}
function wire(item) {  // the sync item, without the queue's own fields
  var w = { id: item.id, token: item.token, unit: item.unit, created_at: item.created_at,
            answers: item.answers, comment: item.comment, identity: item.identity, meta: item.meta,
            receipt: item.receipt || null, contact: item.contact || null };
  if (item.replaces) { w.replaces = item.replaces; w["void"] = !!item["void"]; w.void_reason = item.void_reason || null; }
  return w;
}

f.addEventListener("change", function () {
  var w = $("why");
  if (w) w.className = needsReason() ? "err" : "";
});

f.addEventListener("submit", function (e) {
  e.preventDefault();
  var item = collect(), durable;
  if (typeof item === "string") {
    say(item, "err");
    var bad = f.querySelector(".x");
    if (bad && bad.scrollIntoView) bad.scrollIntoView({ block: "center" });
    return;
  }
  btn.disabled = true;
  devReady.then(function () { return put(item); }).then(function (ok) {
    if (C.visit) return remember(item).then(function () { return ok; });
    return ok;
  }).then(function (ok) {
    durable = ok;
    return kget("n:" + T);
  }).then(function (n) {
    nth = (n || 0) + 1;
    return Promise.all([kset("n:" + T, nth), kset(ratedKey(item.unit), 1)]);
  }).then(function () {
    btn.disabled = false;
    rated[item.unit] = 1;
    if (C.poster) { f.hidden = true; $("thx").hidden = false; if ($("oth")) $("oth").hidden = D.units.every(function (u) { return rated[u.code]; }); }
    else { var who = picked("identity"); f.reset(); window.scrollTo(0, 0); if (C.visit) { nextUnit(item, who); if (item.replaces) unfix(); } }
    say(durable ? "第 " + nth + " 份已保存在本机，正在上传…" : "本机无法保存，正在直接上传，请勿关闭本页…", durable ? "ok" : "err");
    sent = false;
    render();
    upload();
  }).catch(function (err) {
    btn.disabled = false;
    say("保存出错：" + err + "。请重试。", "err");
  });
});

// --- uploading the queue ---
// The server refuses a filling time in its future or before the form was opened (the phone's
// clock is evidence, never authority). A phone whose clock is simply off learns by how much from
// the server's Date header and restamps the rating by the server's clock, keeping its own
// reading in meta: the same rating (the server's "same content" ignores the time), resent.
var CLOCK_CODES = { future_time: 1, before_receipt: 1 };
function restamp(item, clock) {  // true when the item now carries a different time
  if (!(Math.abs(clock) >= 60000)) return false;  // the clock is right (or unknown): it stands
  item.meta = item.meta || {};
  var phone = item.meta.phone_created_at || item.created_at, at = Date.parse(phone) + clock;
  if (isNaN(at) || Math.abs(at - Date.parse(item.created_at)) < 60000) return false;
  item.meta.phone_created_at = phone;
  item.created_at = new Date(at).toISOString();
  return true;
}

// A batch the server refuses whole (400/413/422) or fails on (5xx) is halved until the item at
// fault stands alone; another 4xx is not about what was sent (a proxy, a deploy) and means later.
// A lone item the server keeps failing on is set aside ("err") and retried alone, least recently
// tried first, after the others: one bad item never holds back the rest of the queue.
var REFUSED = { 400: 1, 413: 1, 422: 1 };  // the answers that blame the batch sent (bad, too large)
function settle(batch, results, clock) {  // apply the server's per-item answers, in request order
  var up = {};
  return Promise.all(batch.map(function (item, i) {
    var r = results[i] || {};
    if (r.id !== item.id && r.status !== "rejected") return null;  // not an answer about this item
    if (r.status === "stored" || r.status === "duplicate") { up[item.id] = 1; return del(item.id); }
    if (r.status === "rejected" && CLOCK_CODES[r.code] && restamp(item, clock)) {
      delete item.err;
      return put(item);  // not refused: this pass sends it again
    }
    if (r.status === "rejected" || r.status === "conflict") {
      item.bad = r.status; item.why = r.error || r.status; delete item.err;
      return put(item);
    }
    return null;
  })).then(function () { return uploaded(up); });
}

function later(err) {  // capped exponential backoff with jitter, then a fresh pass
  fails += 1; busy = false;
  var wait = Math.min(60000, 1000 * Math.pow(2, fails)) * (0.5 + Math.random() / 2);
  timer = setTimeout(upload, wait);
  offlineSay(err, wait);
  render();
}

function upload(retry) {  // retry: ids of rejected items to try once more (the upload button)
  if (busy) return;
  clearTimeout(timer);
  timer = 0;
  step({ retry: retry, tried: {}, progress: false, stuck: 0 });
}

function failedAlone(item, pass, status) {  // the server failed on this one item: set it aside
  item.err = (item.err || 0) + 1; item.at = Date.now();
  item.why = "服务器处理这份评议时出错（" + status + "），已重试 " + item.err + " 次，将继续单独重试";
  pass.tried[item.id] = 1; pass.stuck += 1; size = BATCH;
  return put(item).then(function () {
    // Nothing got through in this pass: the server itself may be failing, so wait before more.
    if (!pass.progress) throw new Error("服务器出错（" + status + "）");
  });
}

// Send one batch; resolve with the answer's status, its body (parsed JSON, else {}) and how far
// the server's clock is ahead of this phone's (ms, NaN without a Date header).
// The time limit covers the body too: on a weak signal an answer can stall after its headers,
// and a pass that waits for it forever would hold the queue until the page is reopened.
function post(batch) {
  var ctl = window.AbortController && new AbortController(), limit;
  var late = new Promise(function (ok, no) {
    limit = setTimeout(function () { if (ctl) ctl.abort(); no(new Error("上传超时")); }, 60000);
  });
  var answer = devReady.then(function () {
    return fetch(C.sync, {
      method: "POST", credentials: "same-origin", signal: ctl ? ctl.signal : undefined,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ device_id: dev, responses: batch.map(wire) })
    });
  }).then(function (res) {
    return res.json().catch(function () { return {}; })
      .then(function (body) {
        return { status: res.status, ok: res.ok, body: body || {},
                 clock: Date.parse(res.headers.get("Date")) - Date.now() };
      });
  });
  return Promise.race([answer, late]).then(function (res) { clearTimeout(limit); return res; },
                                           function (err) { clearTimeout(limit); throw err; });
}

function step(pass) {
  busy = true;
  all().then(function (items) {
    var open = items.filter(function (i) {
      return !i.bad || (pass.retry && i.bad === "rejected" && !pass.retry[i.id]);
    });
    var batch = open.filter(function (i) { return !i.err; }).slice(0, size);
    if (!batch.length) {
      batch = open.filter(function (i) { return !pass.tried[i.id]; })
        .sort(function (a, b) { return (a.at || 0) - (b.at || 0); }).slice(0, 1);
    }
    batch.forEach(function (i) { if (pass.retry) pass.retry[i.id] = 1; });
    if (!batch.length) {
      size = BATCH;
      if (pass.stuck) return later(new Error("有 " + pass.stuck + " 份评议服务器暂时无法处理"));
      busy = false;
      return render();
    }
    say("正在上传 " + batch.length + " 份…");
    return post(batch).then(function (res) {
      var body = res.body;
      // The server asks for time (busy, store down, rate limit), not for a smaller batch.
      if (res.status === 503 || res.status === 408 || res.status === 429) {
        throw new Error("服务器暂时无法接收（" + res.status + "）");
      }
      if (res.status >= 500) {
        if (batch.length > 1) { size = Math.ceil(batch.length / 2); return null; }
        return failedAlone(batch[0], pass, res.status);
      }
      if (res.ok && body.results) {
        size = BATCH; sent = true; pass.progress = true;
        return settle(batch, body.results, res.clock).then(function () { return kset("last", Date.now()); });
      }
      // Not our API's answer (a captive portal, a proxy's page), or a refusal that is not about
      // what was sent (401/403/404/405/410: a proxy, a deploy in progress): try again later.
      if (res.ok || !body.error || !REFUSED[res.status]) throw new Error("服务器应答异常（" + res.status + "）");
      // The server refused the batch whole: halve it until the one item it refuses stands alone.
      if (batch.length > 1) { size = Math.ceil(batch.length / 2); return null; }
      batch[0].bad = "rejected"; batch[0].why = body.error || "服务器拒收（" + res.status + "）";
      delete batch[0].err;
      size = BATCH;
      return put(batch[0]);
    }).then(function () {
      if (pass.progress) fails = 0;
      step(pass);
    }, later);
  });
}

// Offline is normal in a village: a calm note while the phone holds the ratings; red only when
// a person must act (this phone cannot keep them).
function offlineSay(err, wait) {
  var lost = Object.keys(mem).length, srv = err && err.message && /[\u4e00-\u9fff]/.test(err.message);
  if (lost) return say("本机无法保存，请勿关闭本页；" + Math.ceil(wait / 1000) + " 秒后重试上传。", "err");
  say((nth ? "第 " + nth + " 份" : "") + "已保存在本机，联网后自动上传" + (srv ? "（" + err.message + "）" : "") + "。", "ok");
}

function render() {
  return all().then(function (items) {
    var waiting = items.filter(function (i) { return !i.bad; });
    var bad = items.filter(function (i) { return i.bad || i.err; });
    var list = $("bad");
    list.textContent = "";
    bad.forEach(function (i) {
      var li = document.createElement("li"), u = D.units.filter(function (x) { return x.code === i.unit; })[0];
      li.textContent = when(i.t) + " " + (u ? u.name : i.unit || "") + "：" + (i.bad === "conflict" ? "编号冲突，" : "") + (i.bad ? "" : "暂未上传，") + i.why;
      list.appendChild(li);
    });
    $("pb").hidden = !bad.length;
    html.setAttribute("data-pending", waiting.length);
    if (!busy && sent && !waiting.some(function (i) { return !i.err; })) say(bad.length ? "上传完成，有 " + bad.length + " 份未能上传，原因见下方。" : (C.poster ? "已上传。" : "已上传，感谢您的评议。"), bad.length ? "err" : "ok");
    if (!C.visit) return null;
    listHistory();
    return Promise.all([kget("n:" + T), kget("last")]).then(function (v) {
      $("n").textContent = v[0] || 0;
      $("m").textContent = waiting.length;
      $("lt").textContent = v[1] ? when(v[1]) : "尚未上传";
    });
  });
}

// --- visit mode: one rater, several units; this phone's saved ratings; corrections and voids ---
// A rating is never edited or removed here: a correction or a void is a new rating that names
// the one it replaces, and both are uploaded (the server counts the latest version).
var fixing = null, rater = {}, HK = "h:" + T;
function history() { return kget(HK).then(function (h) { return h || []; }); }
function remember(item) {
  return history().then(function (h) { h.push(item); return kset(HK, h.slice(-300)); });
}
function uploaded(ids) {  // one read-modify-write for the whole batch
  if (!C.visit) return null;
  return history().then(function (h) {
    h.forEach(function (e) { if (ids[e.id]) e.up = 1; });
    return kset(HK, h);
  });
}
function unitName(code) { var u = D.units.filter(function (x) { return x.code === code; })[0]; return u ? u.name : code || ""; }
function summary(e) {
  if (e["void"]) return "作废：" + e.void_reason;
  var n = {};
  D.items.forEach(function (it) {
    it.levels.forEach(function (l) { if (e.answers[it.key] === l.key) n[l.label] = (n[l.label] || 0) + 1; });
  });
  return Object.keys(n).map(function (k) { return k + n[k]; }).join(" ") + (e.comment ? " · " + e.comment.slice(0, 12) : "");
}
function left() { return D.units.filter(function (u) { return !rater[u.code]; }); }
function nextUnit(item, who) {
  if (!$("nx")) return;
  if (item.replaces) return;
  rater[item.unit] = 1; rater.who = who;
  var rest = left();
  $("rp").textContent = (D.units.length - rest.length) + "/" + D.units.length;
  $("nxb").hidden = !rest.length;
  if (rest.length) $("nxb").textContent = "评议下一个单位：" + rest[0].name;
  $("nx").hidden = false;
}
function pick(name, value) {
  var e = f.querySelector('input[name="' + name + '"][value="' + value + '"]');
  if (e) e.checked = true;
}
function listHistory() {
  return history().then(function (h) {
    var gone = {}, list = $("hl");
    h.forEach(function (e) { if (e.replaces) gone[e.replaces] = e["void"] ? "已作废" : "已更正"; });
    list.textContent = "";
    h.slice().reverse().forEach(function (e) {
      var li = document.createElement("li"), s = document.createElement("span");
      s.textContent = when(e.t) + " " + unitName(e.unit) + " · " + summary(e) + " · " + (e.up ? "已上传" : "待上传") + (gone[e.id] ? " · " + gone[e.id] : "");
      if (gone[e.id]) s.className = "off";
      li.appendChild(s);
      if (!gone[e.id] && !e["void"]) {
        [["更正", fix], ["作废", drop]].forEach(function (b) {
          var x = document.createElement("button");
          x.type = "button"; x.textContent = b[0];
          x.addEventListener("click", function () { b[1](e); });
          li.appendChild(document.createElement("br")); li.appendChild(x);
        });
      }
      list.appendChild(li);
    });
    $("hn").textContent = h.length;
  });
}
function fix(e) {
  f.reset();
  if (f.elements.unit.tagName === "SELECT") f.elements.unit.value = e.unit;
  Object.keys(e.answers).forEach(function (k) { pick("a." + k, e.answers[k]); });
  f.elements.comment.value = e.comment || "";
  if (e.identity) pick("identity", e.identity);
  fixing = e.id;
  $("fxw").textContent = when(e.t) + " " + unitName(e.unit);
  $("fx").hidden = false; btn.textContent = "提交更正";
  f.scrollIntoView();
}
function unfix() { fixing = null; $("fx").hidden = true; btn.textContent = "提交评议"; }
function drop(e) {
  var why = (window.prompt("作废 " + when(e.t) + " " + unitName(e.unit) + " 的评议。请写明原因（必填）：") || "").trim();
  if (!why) return say("未作废：须写明原因。");
  var v = { id: uuid(), token: T, unit: e.unit, created_at: new Date().toISOString(), answers: {}, comment: "",
            identity: null, meta: {}, t: Date.now(), replaces: e.id, "void": true, void_reason: why.slice(0, 200) };
  put(v).then(function () { return remember(v); }).then(function () {
    say("已作废，作废记录已保存在本机，将与原评议一并上传。", "ok");
    render(); upload();
  });
}

// --- visit mode: counters, manual upload, export of the unsent queue ---
if (C.visit) {
  $("vp").hidden = $("cnt").hidden = false;
  $("fxc").addEventListener("click", function () { unfix(); f.reset(); });
  if ($("nx")) {
    $("nxb").addEventListener("click", function () {
      f.elements.unit.value = left()[0].code;
      if (rater.who) pick("identity", rater.who);
      $("nx").hidden = true;
      f.scrollIntoView();
    });
    $("nr").addEventListener("click", function () { rater = {}; f.reset(); $("nx").hidden = true; window.scrollTo(0, 0); });
  }
  $("up").onclick = function () { fails = 0; upload({}); };
  $("ex").onclick = function () {
    all().then(function (items) {
      if (!items.length) return say("本机没有未上传的评议。");
      var now = new Date(), name = "pingyi-" + now.toISOString().slice(0, 10) + "-" + items.length + "份.json";
      var text = JSON.stringify({ format: "pingyi-queue", version: 1, device_id: dev,
        exported_at: now.toISOString(), responses: items.map(wire) });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      a.download = name;
      document.body.appendChild(a); a.click(); a.parentNode.removeChild(a);
      say("已导出 " + items.length + " 份到文件 " + name + "，请交管理员导入。本机数据在上传成功前保留。", "ok");
    });
  };
  var ua = navigator.userAgent;
  if (/MicroMessenger/i.test(ua) && /iPhone|iPad|iPod/.test(ua)) $("ios").hidden = false;
}

// --- poster mode: one rating per phone per unit; a multi-unit poster offers the others ---
if ($("oth")) $("oth").addEventListener("click", function () {
  f.reset(); $("thx").hidden = true; f.hidden = false; say("");
  Array.prototype.forEach.call(f.querySelectorAll("option"), function (o) { if (rated[o.value]) o.disabled = true; });
  window.scrollTo(0, 0);
});
C.rated.forEach(function (code) { rated[code] = 1; });
Promise.all(D.units.map(function (u) { return kget(ratedKey(u.code)); })).then(function (marks) {
  var left = 0;
  D.units.forEach(function (u, i) {
    if (marks[i]) rated[u.code] = 1;
    if (!rated[u.code]) left += 1;
  });
  if (!C.poster) return;
  if (!left && !f.hidden) { f.hidden = true; $("done").hidden = false; }
  Array.prototype.forEach.call(f.querySelectorAll("option"), function (o) { if (rated[o.value]) o.disabled = true; });
});

if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
window.addEventListener("online", function () { fails = 0; upload(); });
document.addEventListener("visibilitychange", function () { if (!document.hidden) upload(); });
setInterval(function () { if (!timer) upload(); }, 60000);  // a backoff timer, if set, rules
render();
upload();
html.setAttribute("data-ready", "1");

// A Service Worker, where there is one, keeps the visit page for reopening with no network.
if (C.visit && "serviceWorker" in navigator && window.caches) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("sw.js", { scope: "./" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function () { return caches.open(CACHE); })
      .then(function (c) { return c.add(location.pathname); })
      .then(function () { html.setAttribute("data-offline", "1"); })
      .catch(function () {});
  });
}
})();
