// Mercato pages: the little behaviour the server-rendered pages need. No framework, no
// inline script (the Content-Security-Policy forbids it).
//  - data-live="<url>" on an element: re-fetch that fragment every data-every ms (default
//    2000) and swap it in, until a fragment carries data-final.
//  - data-confirm="<question>" on a form: ask before it is submitted.
//  - every form: its submit buttons are disabled once it is submitted (a double click sends
//    one request; the server's Idempotency-Key makes a second one harmless anyway).
(function () {
  "use strict";

  function poll(el) {
    var every = parseInt(el.getAttribute("data-every") || "2000", 10);
    var url = el.getAttribute("data-live");
    function tick() {
      if (el.querySelector("[data-final]")) { return; }
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) { el.innerHTML = html; }
          setTimeout(tick, every);
        })
        .catch(function () { setTimeout(tick, every * 2); });
    }
    setTimeout(tick, every);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
    form.setAttribute("data-submitted", "1");
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });

  document.querySelectorAll("[data-live]").forEach(poll);
})();
// A page restored from the back/forward cache gets its forms back.
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) { return; }
  document.querySelectorAll("form[data-submitted]").forEach(function (form) {
    form.removeAttribute("data-submitted");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
  });
});
