// The operator page's little JavaScript: it only helps; every page works without it.
// - forms with data-confirm ask before they are sent (reinstating a card);
// - the on-air panel reloads itself every 15 s (a fragment of this same service);
// - times get the reader's local time as a tooltip.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) { el.title = when.toLocaleString(); }
    });
  }
  localTimes(document);

  var air = document.getElementById("air");
  if (air && window.fetch) {
    window.setInterval(function () {
      fetch(air.dataset.refresh, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var box = document.createElement("div");
          box.innerHTML = html;
          var fresh = box.querySelector("#air");
          if (fresh) { air.replaceWith(fresh); air = fresh; localTimes(fresh); }
        })
        .catch(function () { /* the next tick tries again */ });
    }, 15000);
  }
});
