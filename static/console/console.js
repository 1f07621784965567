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
  var selectedHref = null;

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

  // Triage on a proposal page: each key clicks the control a mouse would. Approve and reject
  // submit the decision form, whose browser check asks for the reason first when it is empty.
  var TRIAGE = {
    n: 'a[rel="next"][data-key]',
    p: 'a[rel="prev"][data-key]',
    a: '#decision button[value="approve"]:not([formaction])',
    x: '#decision button[value="reject"]:not([formaction])',
    A: '#decision button[value="approve"][formaction]',
    X: '#decision button[value="reject"][formaction]',
    u: '#diff .diff-modes a:not([aria-current])'
  };

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
    else if (TRIAGE[key]) {
      var control = document.querySelector(TRIAGE[key]);
      if (control) { control.click(); event.preventDefault(); }
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

  // The inbox table is swapped by htmx on filtering and by the live poll: keep the selected
  // row when it is still there.
  document.addEventListener("htmx:beforeSwap", function () {
    var all = rows();
    selectedHref = selected >= 0 && all[selected] ? all[selected].getAttribute("data-href") : null;
  });
  document.addEventListener("htmx:afterSwap", function () {
    selected = -1;
    if (!selectedHref) return;
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-href") === selectedHref) { select(i); break; }
    }
  });

  // Live parts (data-live) poll with the ETag of what they show: the server answers 304 while
  // nothing changed (htmx-config swaps nothing on 304). A hidden tab does not poll at all and
  // catches up at once when it is shown again.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live")) return;
    if (document.hidden) { event.preventDefault(); return; }
    var etag = elt.getAttribute("data-etag");
    if (etag) event.detail.headers["If-None-Match"] = etag;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt, xhr = event.detail.xhr;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live") || !xhr) return;
    var etag = xhr.getResponseHeader("ETag");
    if (etag && xhr.status === 200 && document.body.contains(elt)) elt.setAttribute("data-etag", etag);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) return;
    document.querySelectorAll("[data-live]").forEach(function (elt) { window.htmx.trigger(elt, "livenow"); });
  });

  // "(5 min ago)" next to every time, kept current while the page stays open.
  function ago(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds >= 86400) return Math.floor(seconds / 86400) + " d ago";
    if (seconds >= 3600) return Math.floor(seconds / 3600) + " h ago";
    if (seconds >= 60) return Math.floor(seconds / 60) + " min ago";
    return seconds + " s ago";
  }
  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (span) {
      var then = Date.parse(span.getAttribute("data-since"));
      if (!isNaN(then)) span.textContent = "(" + ago((now - then) / 1000) + ")";
    });
  }
  document.addEventListener("htmx:afterSettle", refreshTimes);
  document.addEventListener("DOMContentLoaded", refreshTimes);
  window.setInterval(refreshTimes, 15000);
})();
