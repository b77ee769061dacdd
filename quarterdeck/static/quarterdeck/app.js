// Quarterdeck: small progressive enhancements. Pages work without this file.
(function () {
  "use strict";

  function typing(event) {
    const t = event.target;
    return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }

  // Global shortcuts: "?" shows the list, "/" focuses search.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    if (event.key === "?") {
      const dialog = document.getElementById("shortcuts");
      if (dialog && !dialog.open) { dialog.showModal(); event.preventDefault(); }
    } else if (event.key === "/") {
      const search = document.querySelector("[data-search]");
      if (search) { search.focus(); search.select && search.select(); event.preventDefault(); }
    }
  });

  // Toasts fade out after a few seconds unless they carry an action (Undo).
  function armToasts(root) {
    root.querySelectorAll(".toast:not([data-armed])").forEach(function (toast) {
      toast.dataset.armed = "1";
      const delay = toast.querySelector("button, a") ? 8000 : 4000;
      setTimeout(function () { toast.remove(); }, delay);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { armToasts(document); });
  document.addEventListener("htmx:afterSettle", function () { armToasts(document); });

  // A server-sent toast: HX-Trigger {"toast": {"message": "...", "undo": "/url"}}.
  document.addEventListener("toast", function (event) {
    const detail = event.detail || {};
    const box = document.getElementById("toasts");
    if (!box) return;
    const toast = document.createElement("div");
    toast.className = "toast toast-" + (detail.level || "success");
    toast.setAttribute("role", "status");
    toast.textContent = detail.message || "";
    if (detail.undo) {
      const button = document.createElement("button");
      button.className = "linklike";
      button.type = "button";
      button.textContent = detail.undo_label || "Undo";
      button.setAttribute("hx-post", detail.undo);
      button.setAttribute("hx-target", detail.undo_target || "body");
      button.setAttribute("data-undo", "");
      toast.appendChild(document.createTextNode(" "));
      toast.appendChild(button);
      window.htmx && window.htmx.process(toast);
    }
    box.appendChild(toast);
    armToasts(box);
  });

  // "u" clicks the newest Undo button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "u" || event.ctrlKey || event.metaKey || typing(event)) return;
    const undos = document.querySelectorAll("[data-undo]");
    if (undos.length) { undos[undos.length - 1].click(); event.preventDefault(); }
  });
})();
