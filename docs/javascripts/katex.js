// Typeset every formula with the KaTeX copy in docs/vendor/katex (nothing is loaded from a CDN).
// - Markdown pages: pymdownx.arithmatex (generic mode) wraps formulas in elements of class
//   "arithmatex" as \( ... \) inline and \[ ... \] display.
// - Notebook pages (mkdocs-jupyter): $...$ and $$...$$ in markdown cells and headings, and the
//   LaTeX that SymPy prints ($\displaystyle ...$) in outputs, inside .jupyter-wrapper.
// - The table of contents and the navigation repeat headings that hold formulas.
// Code (pre, code, script, ...) is never touched.
(function () {
  const inline = [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true },
  ];
  const dollars = [
    { left: "$$", right: "$$", display: true },
    { left: "$", right: "$", display: false },
    ...inline,
  ];
  const options = (delimiters) => ({
    delimiters,
    throwOnError: false,
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
    ignoredClasses: ["highlight", "highlight-ipynb", "CodeMirror"],
  });

  function typeset(root) {
    for (const element of root.querySelectorAll(".arithmatex")) {
      renderMathInElement(element, options(inline));
    }
    for (const element of root.querySelectorAll(".jupyter-wrapper, .md-nav, .md-content h1, .md-content h2")) {
      renderMathInElement(element, options(dollars));
    }
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(({ body }) => typeset(body));  // mkdocs-material, also after instant navigation
  } else {
    document.addEventListener("DOMContentLoaded", () => typeset(document.body));
  }
})();
