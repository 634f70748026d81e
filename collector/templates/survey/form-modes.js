// --- visit mode: one rater, several units; this phone's saved ratings; corrections and voids ---
// A rating is never edited or removed here: a correction or a void is a new rating that names
// the one it replaces, and both are uploaded (the server counts the latest version).
var fixing = null, rater = {}, HK = "h:" + T;
function history() { return kget(HK).then(function (h) { return h || []; }); }
// Each change is a read-modify-write of the whole list, and a submit (remember) can overlap an
// upload settling (uploaded): run them one after another, or the later write drops the other's
// change. change(list) edits the list and returns the list to store.
var edits = Promise.resolve();
function editHistory(change) {
  var done = edits.then(history).then(function (h) { return kset(HK, change(h)); });
  edits = done.catch(function () {});  // a failed edit does not stop the ones after it
  return done;
}
function remember(item) {
  return editHistory(function (h) { h.push(item); return h.slice(-300); });
}
function uploaded(ids) {  // one edit for the whole batch
  if (!C.visit) return null;
  return editHistory(function (h) {
    h.forEach(function (e) { if (ids[e.id]) e.up = 1; });
    return h;
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
