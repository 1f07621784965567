// Line comments on the proposal page (docs/revisions.md): a "Comment" control on each diff line
// (or JSON Patch operation) adds a draft to the decision form; drafts are sent with the
// decision as comment_anchor (JSON) and comment_body. No inline handlers (strict CSP).
(function () {
  "use strict";

  function drafts() {
    return document.getElementById("comment-drafts");
  }

  function number(cell) {
    var text = cell ? cell.textContent.trim() : "";
    return text ? parseInt(text, 10) : null;
  }

  // The anchor of a diff row: the old side for a removed line, else the new side.
  function rowAnchor(row) {
    var cells = row.querySelectorAll(".dn");
    var oldLine = number(cells[0]), newLine = number(cells[1]);
    if (row.classList.contains("dr-delete") || newLine === null) {
      return oldLine === null ? null : { side: "old", line: oldLine };
    }
    return { side: "new", line: newLine };
  }

  function describe(anchor) {
    return anchor.pointer !== undefined
      ? "operation at " + (anchor.pointer || "(whole document)")
      : anchor.side + " line " + anchor.line;
  }

  function addDraft(anchor) {
    var list = drafts();
    if (!list) return;
    var item = document.createElement("li");
    item.className = "comment-draft";
    var label = document.createElement("label");
    label.textContent = "Comment on " + describe(anchor);
    var body = document.createElement("textarea");
    body.name = "comment_body";
    body.rows = 2;
    body.maxLength = 5000;
    body.required = true;
    label.appendChild(body);
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "comment_anchor";
    hidden.value = JSON.stringify(anchor);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.textContent = "Remove draft";
    remove.addEventListener("click", function () { item.remove(); });
    item.appendChild(label);
    item.appendChild(hidden);
    item.appendChild(remove);
    list.appendChild(item);
    body.focus();
  }

  function control(anchor) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "comment-line";
    button.setAttribute("aria-label", "Comment");
    button.title = "Comment on " + describe(anchor);
    button.textContent = "+";
    button.addEventListener("click", function (event) {
      event.preventDefault();
      addDraft(anchor);
    });
    return button;
  }

  function attach(root) {
    if (!drafts()) return; // no decision form: nothing to comment with
    root.querySelectorAll("#diff .dr").forEach(function (row) {
      if (row.querySelector(".comment-line")) return;
      var anchor = rowAnchor(row);
      if (!anchor) return;
      var cells = row.querySelectorAll(".dn"); // old number, new number (both layouts)
      var cell = anchor.side === "old" ? cells[0] : cells[1];
      cell.insertBefore(control(anchor), cell.firstChild);
    });
    root.querySelectorAll("#diff .diff-op[data-pointer]").forEach(function (op) {
      if (op.querySelector(".comment-line")) return;
      op.appendChild(control({ pointer: op.getAttribute("data-pointer") }));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { attach(document); });
  // The diff's mode and paging links swap #diff alone (htmx): give the new rows controls.
  document.body.addEventListener("htmx:afterSwap", function () { attach(document); });
})();
