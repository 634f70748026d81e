(function () {
  "use strict";
  // Copy a link, show its QR code, filter the unit checkboxes.
  function flash(button, text) {
    var old = button.textContent;
    button.textContent = text;
    setTimeout(function () { button.textContent = old; }, 2000);
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    var ok = document.execCommand("copy");
    area.parentNode.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy"));
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button.copy, button.qr");
    if (!b) return;
    if (b.classList.contains("copy")) {
      copy(b.getAttribute("data-copy")).then(function () { flash(b, "已复制"); },
        function () { flash(b, "请长按链接复制"); });
      return;
    }
    var box = b.parentNode.querySelector(".qrbox"), open = box.hidden;
    if (open && !box.firstChild) {
      var img = document.createElement("img");
      img.src = b.getAttribute("data-qr"); img.alt = "二维码预览"; img.width = img.height = 160;
      box.appendChild(img);
    }
    box.hidden = !open;
    b.setAttribute("aria-expanded", open ? "true" : "false");
  });
  Array.prototype.forEach.call(document.querySelectorAll(".picker"), function (picker) {
    var search = picker.querySelector(".pick-search");
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      Array.prototype.forEach.call(picker.querySelectorAll("label"), function (label) {
        label.hidden = q && label.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
})();
