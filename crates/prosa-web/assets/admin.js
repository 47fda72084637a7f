// Administration pages: the two-list operator picker (the notification badge is shell.js).
(function () {
  "use strict";

  function move(from, to) {
    var picked = Array.prototype.filter.call(from.options, function (o) { return o.selected; });
    picked.forEach(function (o) { o.selected = false; to.appendChild(o); });
    return picked.length;
  }

  document.querySelectorAll("[data-picker]").forEach(function (box) {
    var available = box.querySelector("#pick-available");
    var selected = box.querySelector("#pick-selected");
    if (!available || !selected) return;
    var live = document.createElement("p");
    live.className = "sr-only";
    live.setAttribute("aria-live", "polite");
    box.appendChild(live);
    function add() { var n = move(available, selected); if (n) live.textContent = n + " operador(es) adicionado(s)"; }
    function remove() { var n = move(selected, available); if (n) live.textContent = n + " operador(es) removido(s)"; }
    box.querySelector("[data-pick=add]").addEventListener("click", add);
    box.querySelector("[data-pick=remove]").addEventListener("click", remove);
    available.addEventListener("dblclick", add);
    selected.addEventListener("dblclick", remove);
    available.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); add(); } });
    selected.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === "Delete") { e.preventDefault(); remove(); } });
    // Only the chosen list is submitted: select all of it on submit.
    var form = box.closest("form");
    if (form) form.addEventListener("submit", function () {
      Array.prototype.forEach.call(selected.options, function (o) { o.selected = true; });
    });
  });
})();
