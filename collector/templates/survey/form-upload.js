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
