// What a reader on a small screen needs (book/_ext/book_site.py adds this to every page):
// - a table or displayed formula wider than the page scrolls sideways in its own box;
//   a line above it says so, and a shadow marks the edge where more is hidden;
// - a tap on a figure opens the full-size image, which a phone can zoom.
(function () {
  "use strict";
  var WIDE = '.pst-scrollable-table-container, mjx-container[display="true"]';
  var CUE = "book-scroll-cue";

  function markWide() {
    document.querySelectorAll(WIDE).forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      // a formula's box sits in a flex row with its number: the cue goes above the row
      var place = box.closest("div.math") || box;
      var before = place.previousElementSibling;
      var hasCue = before !== null && before.classList.contains(CUE);
      box.classList.toggle("book-scrolls", wide);
      if (wide && !hasCue) {
        var cue = document.createElement("div");
        cue.className = CUE;
        cue.setAttribute("aria-hidden", "true");
        cue.textContent = "wider than the screen: swipe sideways to see it all \u2192";
        place.parentNode.insertBefore(cue, place);
      } else if (!wide && hasCue) {
        before.remove();
      }
    });
  }

  function zoomableFigures() {
    document.querySelectorAll("article.bd-article .cell_output img, article.bd-article figure img")
      .forEach(function (img) {
        if (img.closest("a") || !img.getAttribute("src")) return;
        var link = document.createElement("a");
        link.href = img.getAttribute("src");
        link.className = "book-zoom";
        link.title = "open the full-size image";
        img.parentNode.insertBefore(link, img);
        link.appendChild(img);
      });
  }

  function ready() {
    zoomableFigures();
    markWide();
    var mj = window.MathJax;  // without Node.js, formulas are typeset after load
    if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(markWide);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  window.addEventListener("load", markWide);
  window.addEventListener("resize", markWide);
})();
