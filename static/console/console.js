// Keyboard shortcuts, clickable table rows and confirm prompts. No inline handlers: the CSP
// allows only scripts from our origin, so every behaviour is attached here.
(function () {
  "use strict";

  // Table rows where a page has them (inbox, targets, history), else the page's sections
  // (the proposal page), so j/k always moves through what the page is made of.
  function rows() {
    var found = document.querySelectorAll("table[data-nav-rows] tbody tr[data-href]");
    if (!found.length) found = document.querySelectorAll("[data-nav-section]");
    return Array.prototype.slice.call(found);
  }

  var selected = -1;

  function select(index) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) {
      row.classList.toggle("selected", i === selected);
      if (i === selected) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    });
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var all = rows();
    if (selected < 0 || selected >= all.length) return;
    var href = all[selected].getAttribute("data-href");
    if (href) {
      window.location.assign(href);
      return;
    }
    var details = all[selected].querySelector("details");
    if (details) details.open = !details.open;
  }

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function showHelp() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && typeof dialog.showModal === "function" && !dialog.open) dialog.showModal();
  }

  var pendingG = false;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      if (key === "i") { window.location.assign("/"); event.preventDefault(); }
      return;
    }
    if (key === "j") { select(selected + 1); event.preventDefault(); }
    else if (key === "k") { select(selected < 0 ? 0 : selected - 1); event.preventDefault(); }
    else if ((key === "Enter" || key === "o") && selected >= 0) { openSelected(); event.preventDefault(); }
    else if (key === "?") { showHelp(); event.preventDefault(); }
    else if (key === "g") { pendingG = true; }
    else if (key === "r") {
      var reason = document.getElementById("id_reason");
      if (reason) { reason.focus(); event.preventDefault(); }
    }
    else if (key === "/") {
      var field = document.getElementById("id_q") || document.getElementById("id_reason");
      if (field) { field.focus(); event.preventDefault(); }
    }
  });

  // A click anywhere on a row opens it (the first cell also holds a real link for keyboards).
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, select, textarea, form")) return;
    window.location.assign(row.getAttribute("data-href"));
  });

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // The inbox table is swapped by htmx on filtering: the old selection no longer exists.
  document.addEventListener("htmx:afterSwap", function () { selected = -1; });
})();
