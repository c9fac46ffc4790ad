// Typeset the math that pymdownx.arithmatex (generic mode) marks with the class "arithmatex":
// \( ... \) inline, \[ ... \] display. Notebook pages bring their own MathJax (mkdocs-jupyter),
// so only arithmatex elements are touched here.
document$.subscribe(({ body }) => {
  for (const element of body.querySelectorAll(".arithmatex")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  }
});
