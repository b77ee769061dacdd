// Quarterdeck inbox: one keystroke per action, and the passage you select becomes the quote.
// Every action also has a visible button; the page works without this file.
(function () {
  "use strict";

  function typing(event) {
    const t = event.target;
    return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }
  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }

  // ---- the quote: text selected inside the insight fills the link form's highlight
  function selectedQuote() {
    const text = $("[data-insight-text]");
    const selection = window.getSelection();
    if (!text || !selection || selection.rangeCount === 0 || selection.isCollapsed) return "";
    const range = selection.getRangeAt(0);
    if (!text.contains(range.commonAncestorContainer)) return "";
    return selection.toString().trim();
  }
  function captureQuote() {
    const quote = selectedQuote();
    const field = $("[data-highlight]");
    if (quote && field) {
      field.value = quote;
      field.classList.add("is-filled");
    }
  }
  document.addEventListener("mouseup", function () { setTimeout(captureQuote, 0); });
  document.addEventListener("keyup", function (event) {
    if (event.shiftKey || event.key.startsWith("Arrow")) captureQuote();
  });
  document.addEventListener("click", function (event) {
    const clear = event.target.closest("[data-clear-quote]");
    if (!clear) return;
    const field = $("[data-highlight]");
    if (field) { field.value = ""; field.classList.remove("is-filled"); }
  });

  // ---- the list: keep the selected row marked; on small screens switch list ↔ insight
  function items() { return $all("[data-item]"); }
  function current() { return $("[data-item][aria-current='true']"); }
  function markCurrent(link) {
    items().forEach(function (a) { a.removeAttribute("aria-current"); });
    if (link) {
      link.setAttribute("aria-current", "true");
      link.scrollIntoView({ block: "nearest" });
    }
  }
  function showWork(show) {
    const root = $(".ibx");
    if (root) root.classList.toggle("ibx-show-work", show);
  }
  document.addEventListener("click", function (event) {
    const item = event.target.closest("[data-item]");
    if (item) { markCurrent(item); showWork(true); return; }
    const back = event.target.closest("[data-back]");
    if (back && window.matchMedia("(max-width: 900px)").matches) {
      event.preventDefault();
      showWork(false);
      const marked = current();
      if (marked) marked.scrollIntoView({ block: "center" });
    }
  });

  function move(step) {
    const list = items();
    if (!list.length) return;
    const at = list.indexOf(current());
    const target = list[Math.min(list.length - 1, Math.max(0, at + step))];
    if (target && target !== list[at]) target.click();
    else if (at === -1) list[0].click();
  }

  // ---- the need search: arrows move through the results, Enter links to the chosen one
  let searching = false;
  let submitAfterSearch = false;
  function searchOutdated(search) {
    return searching || search.value !== (search.dataset.searched || "");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-need-search]")) {
      searching = true;
      elt.dataset.searched = elt.value;
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-need-search]") && !event.detail.successful) {
      searching = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "need-results") return;
    searching = false;
    const search = $("[data-need-search]");
    if (submitAfterSearch && search && !searchOutdated(search)) {
      submitAfterSearch = false;
      const form = search.form;
      const chosen = results().some(function (r) { return r.checked; });
      if (chosen) form.requestSubmit();
      else if (search.value.trim()) form.requestSubmit($("[data-create-need]"));
    }
  });
  function results() { return $all("#need-results input[name=need]"); }
  function chooseResult(step) {
    const radios = results();
    if (!radios.length) return;
    creating = false;
    const at = radios.findIndex(function (r) { return r.checked; });
    const next = radios[at === -1 ? 0 : (at + step + radios.length) % radios.length];
    next.checked = true;
    next.closest("label").scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    const search = event.target.closest && event.target.closest("[data-need-search]");
    if (!search) return;
    if (event.key === "ArrowDown") { chooseResult(1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { chooseResult(-1); event.preventDefault(); }
    else if (event.key === "Enter" && searchOutdated(search)) {
      // The results are still catching up with what was typed: submit once they arrive.
      event.preventDefault();
      submitAfterSearch = true;
    }
    else if (event.key === "Enter" && !results().some(function (r) { return r.checked; })) {
      // Nothing chosen: Enter creates the need that was typed.
      const create = $("[data-create-need]");
      if (create && search.value.trim()) { event.preventDefault(); create.click(); }
    }
  });

  // After "n", the results show "Create …" checked so Enter creates the need.
  let creating = false;
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "need-results" && creating) {
      const create = $("#need-results input[value=new]");
      if (create) create.checked = true;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const id = event.detail.target && event.detail.target.id;
    if (id === "work" || id === "inbox") creating = false;
  });

  function newNeedFromSelection() {
    const search = $("[data-need-search]");
    if (!search) return;
    const quote = selectedQuote() || ($("[data-highlight]") || {}).value || "";
    if (quote) {
      captureQuote();
      search.value = quote.replace(/\s+/g, " ").slice(0, 200);
    }
    search.focus();
    search.select();
    creating = true;
    search.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // ---- the list keeps its scroll position when the whole inbox is redrawn after an action
  let listScroll = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "inbox") {
      const list = $(".ibx-list");
      listScroll = list ? list.scrollTop : null;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "inbox") {
      const list = $(".ibx-list");
      if (list && listScroll !== null) list.scrollTop = listScroll;
      const marked = current();
      if (marked) marked.scrollIntoView({ block: "nearest" });
      // After link or archive the next insight is ready for the next keystroke.
      const active = document.activeElement;
      if (active && active.matches("[data-need-search], [data-highlight]")) active.blur();
    }
  });

  // ---- actions wait for the insight being loaded, so a quick "j a" archives what you see
  const inFlight = new Set();
  let queued = [];
  function isPaneRequest(event) {
    const target = event.detail.target;
    return target && (target.id === "work" || target.id === "inbox");
  }
  function finish(xhr) {
    if (!inFlight.delete(xhr) || inFlight.size) return;
    const run = queued;
    queued = [];
    run.forEach(function (fn) { fn(); });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isPaneRequest(event)) return;
    const xhr = event.detail.xhr;
    inFlight.add(xhr);
    xhr.addEventListener("loadend", function () {
      // A swapped response finishes once settled; anything else (error, abort) now.
      setTimeout(function () { finish(xhr); }, 400);
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.xhr) finish(event.detail.xhr);
  });
  function whenLoaded(fn) { if (inFlight.size) queued.push(fn); else fn(); }

  // ---- shortcuts
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-show-shortcuts]")) return;
    const dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  });
  document.addEventListener("keydown", function (event) {
    if (!$("[data-inbox]") && !$("[data-link-form]")) return;
    if (event.key === "Escape" && typing(event)) { event.target.blur(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    if (document.querySelector("dialog[open]")) return;
    let handled = true;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        if (event.target.closest && event.target.closest("a, button, summary")) { handled = false; break; }
        whenLoaded(function () {
          const open = $("[data-open]");
          if (open) window.location.href = open.href;
        });
        break;
      case "l":
        captureQuote();
        whenLoaded(function () {
          const search = $("[data-need-search]");
          if (search) { search.focus(); search.select(); }
        });
        break;
      case "n": whenLoaded(newNeedFromSelection); break;
      case "a":
        whenLoaded(function () {
          const archive = $("[data-archive]");
          if (archive) archive.click();
        });
        break;
      case "1": case "2": case "3": {
        const radio = $("input[name=importance][value='" + event.key + "']");
        if (radio) radio.checked = true; else handled = false;
        break;
      }
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
