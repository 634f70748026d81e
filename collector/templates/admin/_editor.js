(function () {
  "use strict";
  // The questionnaire editor's phone preview, redrawn from the form on every change, and ↑
  // buttons that swap an item's 序号 with the row above.
  var form = document.querySelector("#items").closest("form"), box = document.getElementById("preview");
  function val(name) { var e = form.elements[name]; return e ? e.value.trim() : ""; }
  function rows(prefix) {
    var seen = {}, out = [];
    Array.prototype.forEach.call(form.elements, function (e) {
      var m = e.name && e.name.match(new RegExp("^" + prefix + "-(\\d+)-"));
      if (m && !seen[m[1]]) { seen[m[1]] = 1; out.push(m[1]); }
    });
    return out;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function draw() {
    var levels = rows("level").map(function (n) { return val("level-" + n + "-label"); }).filter(Boolean);
    var items = rows("item").filter(function (n) {
      var gone = form.elements["item-" + n + "-remove"];
      return val("item-" + n + "-label") && !(gone && gone.checked);
    }).sort(function (a, b) {
      return (+val("item-" + a + "-order") || 0) - (+val("item-" + b + "-order") || 0) || a - b;
    });
    var ids = rows("ident").map(function (n) { return val("ident-" + n + "-label"); }).filter(Boolean);
    box.textContent = "";
    box.appendChild(el("div", "ph", val("title")));
    box.appendChild(el("div", "pt", "请对以下各项作出评价"));
    items.forEach(function (n, i) {
      var q = el("div", "pq", (i + 1) + ". " + val("item-" + n + "-label")), o = el("div", "po");
      levels.forEach(function (l) { o.appendChild(el("span", "", l)); });
      q.appendChild(o);
      box.appendChild(q);
    });
    box.appendChild(el("div", "pt", val("comment_label") || "意见建议"));
    box.appendChild(el("div", "pq", "选填"));
    if (ids.length) {
      box.appendChild(el("div", "pt", "评议人员身份"));
      ids.forEach(function (t) { box.appendChild(el("div", "pq", t)); });
    }
    box.appendChild(el("div", "pb", "提交评议"));
  }
  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  form.addEventListener("click", function (e) {
    if (!e.target.classList.contains("up")) return;
    var row = e.target.closest("tr"), above = row.previousElementSibling;
    if (!above) return;
    var a = row.querySelector(".order"), b = above.querySelector(".order"), t = a.value;
    a.value = b.value; b.value = t;
    row.parentNode.insertBefore(row, above);
    draw();
  });
  draw();
})();
