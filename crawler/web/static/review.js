// The week page's selection panel. One state — {number, ids} — is the source of the panel, the ticks and the
// posted fields; it lives in a per-week cookie (crawler/web/drafts.py reads it too) so reload, Back/Forward
// (pageshow), filters and week changes all show and save the same selection. No framework, no innerHTML.
"use strict";
(function () {
  var MAX_AGE = 30 * 24 * 3600;

  function readCookie(name) {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }
  function parse(value) {
    var m = /^(\d{0,9}):((?:\d+(?:-\d+)*)?)$/.exec(value || "");
    if (!m) { return null; }
    var ids = [];
    m[2].split("-").forEach(function (id) { if (id && ids.indexOf(id) < 0) { ids.push(id); } });
    return {number: m[1], ids: ids};
  }
  function encode(state) { return state.number + ":" + state.ids.join("-"); }
  function copy(state) { return {number: state.number, ids: state.ids.slice()}; }

  function init() {
    var form = document.getElementById("issue-form");
    var holder = document.getElementById("issue-state");
    if (!form || !holder) { return; }
    var data = JSON.parse(holder.textContent);
    var list = document.getElementById("selection");
    var order = document.getElementById("order");
    var empty = form.querySelector(".empty-selection");
    var dirty = document.getElementById("dirty");
    var number = document.getElementById("number");
    var count = document.getElementById("sel-count");
    var overwrite = document.getElementById("overwrite");
    var dialog = document.getElementById("confirm-overwrite");
    var known = data.known || {};
    var state = copy(data.saved);

    function boxes() { return Array.prototype.slice.call(document.querySelectorAll("input.pick[type=checkbox]")); }
    boxes().forEach(function (b) { known[b.value] = {title: b.dataset.title, source: b.dataset.source}; });
    function boxFor(id) { return boxes().filter(function (b) { return b.value === id; })[0]; }
    function titleOf(id) { return known[id] ? known[id].title : "#" + id; }

    function load() { state = parse(readCookie(data.cookie)) || copy(data.saved); }
    function store() {
      var value = encode(state);
      if (value === encode(data.saved)) {
        document.cookie = data.cookie + "=; path=/; max-age=0; samesite=lax";
      } else {
        document.cookie = data.cookie + "=" + value + "; path=/; max-age=" + MAX_AGE + "; samesite=lax";
      }
    }
    function button(cls, label, title) {
      var b = document.createElement("button");
      b.type = "button"; b.className = cls; b.textContent = label; b.title = title;
      return b;
    }
    function item(id) {
      var li = document.createElement("li");
      li.dataset.id = id;
      var pick = document.createElement("input");
      pick.type = "hidden"; pick.name = "pick"; pick.value = id;
      var title = document.createElement("span"); title.className = "sel-title"; title.textContent = titleOf(id);
      var source = document.createElement("span"); source.className = "sel-source";
      source.textContent = known[id] ? "（" + known[id].source + "）" : "";
      var buttons = document.createElement("span"); buttons.className = "sel-buttons";
      buttons.append(button("up", "↑", "上移"), button("down", "↓", "下移"), button("remove", "✕", "移出"));
      li.append(pick, title, " ", source, " ", buttons);
      return li;
    }
    function render() {
      list.replaceChildren.apply(list, state.ids.map(item));
      order.value = state.ids.join(",");
      if (number && number.value !== state.number) { number.value = state.number; }
      if (empty) { empty.hidden = state.ids.length > 0; }
      if (count) { count.textContent = state.ids.length + " 篇"; }
      if (dirty) { dirty.hidden = encode(state) === encode(data.saved); }
      overwrite.value = "";
      boxes().forEach(function (b) { b.checked = state.ids.indexOf(b.value) >= 0; });
      Array.prototype.forEach.call(document.querySelectorAll("li.cand"), function (row) {
        var picked = Array.prototype.filter.call(row.querySelectorAll("input.pick"), function (b) { return b.checked; })[0];
        row.classList.toggle("picked", Boolean(picked));
        var n = row.querySelector(".pos .n");
        if (n) { n.textContent = picked ? String(state.ids.indexOf(picked.value) + 1) : ""; }
      });
      document.dispatchEvent(new CustomEvent("hiwatch:state", {detail: state}));
    }
    function commit() { store(); render(); }

    function toggle(box, on) {
      var at = state.ids.indexOf(box.value);
      if (on && at < 0) {
        // one copy per story: picking another copy replaces the first, in the same place
        var other = state.ids.filter(function (id) {
          var b = boxFor(id);
          return b && b.dataset.cluster === box.dataset.cluster;
        })[0];
        if (other) { state.ids[state.ids.indexOf(other)] = box.value; } else { state.ids.push(box.value); }
      } else if (!on && at >= 0) {
        state.ids.splice(at, 1);
      }
      commit();
    }
    document.addEventListener("change", function (event) {
      var box = event.target;
      if (box.matches && box.matches("input.pick[type=checkbox]")) { toggle(box, box.checked); }
    });
    // the keyboard (x) and other scripts pick through this event
    document.addEventListener("hiwatch:toggle", function (event) { toggle(event.detail, !event.detail.checked); });

    list.addEventListener("click", function (event) {
      var target = event.target.closest("button");
      if (!target) { return; }
      var id = target.closest("li").dataset.id;
      var at = state.ids.indexOf(id);
      if (target.classList.contains("up") && at > 0) {
        state.ids.splice(at - 1, 2, id, state.ids[at - 1]);
      } else if (target.classList.contains("down") && at >= 0 && at < state.ids.length - 1) {
        state.ids.splice(at, 2, state.ids[at + 1], id);
      } else if (target.classList.contains("remove")) {
        state.ids.splice(at, 1);
      }
      commit();
    });
    if (number) { number.addEventListener("input", function () { state.number = number.value; commit(); }); }
    document.getElementById("clear-selection").addEventListener("click", function () {
      state.ids = [];
      commit();
    });

    // saving over a stored issue: say what changes and ask first
    function changes() {
      var saved = data.saved, out = [];
      if (saved.number !== state.number) { out.push("期号 " + (saved.number || "（空）") + " → " + (state.number || "（空）")); }
      var added = state.ids.filter(function (id) { return saved.ids.indexOf(id) < 0; });
      var removed = saved.ids.filter(function (id) { return state.ids.indexOf(id) < 0; });
      added.forEach(function (id) { out.push("新增：" + titleOf(id)); });
      removed.forEach(function (id) { out.push("移出：" + titleOf(id)); });
      if (!added.length && !removed.length && saved.ids.join() !== state.ids.join()) { out.push("顺序改变"); }
      return out;
    }
    form.addEventListener("submit", function (event) {
      var save = event.submitter && event.submitter.id === "save-issue";
      if (!save || !data.stored || overwrite.value === "1" || encode(state) === encode(data.saved) || !state.ids.length) {
        return;
      }
      event.preventDefault();
      var ul = document.getElementById("overwrite-changes");
      ul.replaceChildren.apply(ul, changes().map(function (text) {
        var li = document.createElement("li"); li.textContent = text; return li;
      }));
      dialog.showModal();
    });
    document.getElementById("overwrite-cancel").addEventListener("click", function () { dialog.close(); });
    document.getElementById("overwrite-confirm").addEventListener("click", function () {
      dialog.close();
      overwrite.value = "1";
      form.requestSubmit(document.getElementById("save-issue"));
    });

    // narrow screens: the panel is a drawer; 展开 shows the list, the actions are always there
    var toggleButton = document.getElementById("panel-toggle");
    var aside = document.getElementById("issue");
    toggleButton.addEventListener("click", function () {
      var open = aside.classList.toggle("open");
      toggleButton.setAttribute("aria-expanded", String(open));
      toggleButton.textContent = open ? "收起" : "展开";
    });

    if (data.current) { state = copy(data.current); } else { load(); }  // as the server drew it from the cookie
    commit();
    // back/forward cache: the page comes back as it was left, but the cookie may have changed since
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { load(); render(); }
    });
  }
  // the keyboard: j/k move between candidates, x picks, o opens, ? shows the keys
  function keys() {
    var help = document.getElementById("kbd-help");
    var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("li.cand")); };
    if (!help || !rows().length) { return; }
    var current = -1;
    function move(step) {
      var all = rows();
      if (current >= 0 && all[current]) { all[current].classList.remove("current"); all[current].removeAttribute("aria-current"); }
      current = Math.max(0, Math.min(all.length - 1, current + step));
      all[current].classList.add("current");
      all[current].setAttribute("aria-current", "true");
      all[current].scrollIntoView({block: "nearest"});
    }
    document.getElementById("kbd-help-close").addEventListener("click", function () { help.close(); });
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) { return; }
      if (target.closest && target.closest("input, select, textarea, [contenteditable]")) { return; }
      if (event.key === "?") {
        if (help.open) { help.close(); } else { help.showModal(); }
      } else if (help.open || document.querySelector("dialog[open]")) {
        return;
      } else if (event.key === "j") {
        move(1);
      } else if (event.key === "k") {
        move(current < 0 ? 1 : -1);
      } else if (event.key === "x" && current >= 0) {
        var row = rows()[current];
        var box = row.querySelector("input.pick:checked") || row.querySelector("input.pick");
        document.dispatchEvent(new CustomEvent("hiwatch:toggle", {detail: box}));
      } else if (event.key === "o" && current >= 0) {
        rows()[current].querySelector("h2 a").click();
      } else {
        return;
      }
      event.preventDefault();
    });
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("DOMContentLoaded", keys);
}());
