// The week page's selection panel: picking (checkboxes) and ordering (↑ ↓ ✕). No framework, no innerHTML.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("issue-form");
  var list = document.getElementById("selection");
  if (!form || !list) { return; }
  var order = document.getElementById("order");
  var empty = form.querySelector(".empty-selection");
  var dirty = document.getElementById("dirty");
  var number = document.getElementById("number");
  var saved = order.value + "|" + (number ? number.value : "");

  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("input.pick[form=issue-form]")); }
  function boxFor(id) { return boxes().filter(function (b) { return b.value === id; })[0]; }
  function sync() {
    var ids = Array.prototype.map.call(list.children, function (li) { return li.dataset.id; });
    order.value = ids.join(",");
    if (empty) { empty.hidden = ids.length > 0; }
    if (dirty) { dirty.hidden = order.value + "|" + (number ? number.value : "") === saved; }
    Array.prototype.forEach.call(document.querySelectorAll("li.cand"), function (row) {
      var picked = Array.prototype.filter.call(row.querySelectorAll("input.pick"), function (b) { return b.checked; })[0];
      row.classList.toggle("picked", Boolean(picked));
      var n = row.querySelector(".pos .n");
      if (n) { n.textContent = picked ? String(ids.indexOf(picked.value) + 1) : ""; }
    });
  }
  function button(cls, label, title) {
    var b = document.createElement("button");
    b.type = "button"; b.className = cls; b.textContent = label; b.title = title;
    return b;
  }
  function addItem(box) {
    if (list.querySelector('li[data-id="' + box.value + '"]')) { return; }
    var li = document.createElement("li");
    li.dataset.id = box.value;
    var title = document.createElement("span"); title.className = "sel-title"; title.textContent = box.dataset.title;
    var source = document.createElement("span"); source.className = "sel-source";
    source.textContent = "（" + box.dataset.source + "）";
    var buttons = document.createElement("span"); buttons.className = "sel-buttons";
    buttons.append(button("up", "↑", "上移"), button("down", "↓", "下移"), button("remove", "✕", "移出"));
    li.append(title, " ", source, " ", buttons);
    list.appendChild(li);
  }
  function removeItem(id) {
    var li = list.querySelector('li[data-id="' + id + '"]');
    if (li) { li.remove(); }
  }

  boxes().forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked) {
        // one copy per story: picking another copy replaces the first, in the same place
        boxes().forEach(function (other) {
          if (other !== box && other.checked && other.dataset.cluster === box.dataset.cluster) {
            var old = list.querySelector('li[data-id="' + other.value + '"]');
            other.checked = false;
            if (old) { addItem(box); list.insertBefore(list.lastElementChild, old); old.remove(); }
          }
        });
        addItem(box);
      } else {
        removeItem(box.value);
      }
      sync();
    });
  });

  list.addEventListener("click", function (event) {
    var target = event.target;
    if (target.tagName !== "BUTTON") { return; }
    var li = target.closest("li");
    if (target.classList.contains("up") && li.previousElementSibling) {
      list.insertBefore(li, li.previousElementSibling);
    } else if (target.classList.contains("down") && li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    } else if (target.classList.contains("remove")) {
      var box = boxFor(li.dataset.id);
      if (box) { box.checked = false; }
      li.remove();
    }
    sync();
  });
  if (number) { number.addEventListener("input", sync); }
  sync();
});
