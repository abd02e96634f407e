/* Typesets the book's maths at build time (vgg_lessons.publishing.site.maths): reads a JSON
 * list of [tex, display] from stdin, writes a JSON list of HTML strings (MathJax 3's SVG
 * output, each SVG with the glyphs it uses: no script, no font in the page) to stdout.
 * A TeX error stops the build: its message and the TeX go to stderr, exit code 1.
 * Uses the vendored MathJax 3.2.2 node components in ./es5 (from npm's mathjax@3.2.2). */
"use strict";
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const items = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  require("./es5/node-main.js").init({
    loader: { load: ["input/tex-full", "output/svg", "adaptors/liteDOM"], versionWarnings: false },
    svg: { fontCache: "local" },
    startup: { typeset: false },
  }).then((MathJax) => {
    const adaptor = MathJax.startup.adaptor;
    const out = items.map(([tex, display]) => {
      const node = MathJax.tex2svg(tex, { display: display });
      const html = adaptor.outerHTML(node);
      if (html.includes('data-mml-node="merror"')) {
        const error = adaptor.getAttribute(adaptor.firstChild(node), "data-mjx-error") || "TeX error";
        throw new Error(error + " in: " + tex);
      }
      return html;
    });
    process.stdout.write(JSON.stringify(out));
  }).catch((err) => {
    process.stderr.write(String(err && err.message || err) + "\n");
    process.exit(1);
  });
});
