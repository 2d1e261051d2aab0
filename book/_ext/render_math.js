// Typeset the book's formulas at build time: TeX in, SVG out, with the MathJax 3 that the
// sphinx-mathjax-offline package ships (its node-main.js), so that no page has to load
// MathJax (1.2 MB) in the reader's browser. Called by book_site.py once per build.
//
//   node render_math.js MATHJAX_DIR < pages.json > rendered.json
//
// pages.json:    [[{"tex": "...", "display": false}, ...], ...]   (one list per page)
// rendered.json: [{"svgs": ["<mjx-container ...>", ...], "defs": "<svg ...>", "errors": [...]}]
// Within a page, the glyph outlines are written once ("defs", a hidden <svg> to put at the
// start of the page's body) and each formula refers to them.
"use strict";
const path = require("path");

const mathjaxDir = process.argv[2];
if (!mathjaxDir) {
  console.error("usage: node render_math.js MATHJAX_DIR < pages.json");
  process.exit(2);
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

async function main() {
  const pages = JSON.parse(await readStdin());
  const MathJax = await require(path.join(mathjaxDir, "node-main.js")).init({
    loader: { load: ["input/tex", "output/svg", "[tex]/ams"] },
    tex: { packages: { "[+]": ["ams"] } },
    svg: { fontCache: "global" },
  });
  const adaptor = MathJax.startup.adaptor;
  const fontCache = MathJax.startup.output.fontCache;
  const result = [];
  for (const formulas of pages) {
    fontCache.clearCache();
    const svgs = [];
    const errors = [];
    for (const { tex, display } of formulas) {
      const node = await MathJax.tex2svgPromise(tex, { display });
      const svg = adaptor.outerHTML(node);
      // a TeX error, or an undefined macro (shown in red by the noundefined package)
      const error = /data-mjx-error="([^"]*)"/.exec(svg) || (/ fill="red"/.test(svg) && [0, "undefined macro"]);
      if (error) errors.push(`${error[1]}: ${tex}`);
      svgs.push(svg);
    }
    const defs = adaptor.outerHTML(fontCache.getCache());
    result.push({
      svgs,
      errors,
      defs:
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ' +
        `id="MJX-SVG-global-cache" style="display: none">${defs}</svg>`,
    });
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
