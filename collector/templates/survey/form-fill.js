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
