"""Rich display: LaTeX, HTML and SVG reprs for Jupyter, ``sympy.latex`` hooks, tree pictures, plots."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import sympy

import bea
from bea import Tree, bseries, drawing, exact_solution, methods, modified_equation, modified_flow, trees, trees_up_to
from bea.errors import NotAGradientFieldError
from numeric.drift_report import DriftReport, TruncationResult

SVG = "{http://www.w3.org/2000/svg}"


def svg_elements(text: str, tag: str) -> list[ET.Element]:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    return list(root.iter(f"{SVG}{tag}"))


# --- trees -------------------------------------------------------------------------------------


@pytest.mark.parametrize("tree", list(trees_up_to(6)), ids=str)
def test_tree_svg_is_valid_and_complete(tree: Tree) -> None:
    text = tree._repr_svg_()
    assert len(svg_elements(text, "circle")) == tree.order
    assert len(svg_elements(text, "line")) == tree.order - 1
    assert tree.svg() == text
    title = svg_elements(text, "title")[0].text
    assert title == f"{tree}: {tree.elementary_differential}"


@pytest.mark.parametrize("tree", list(trees_up_to(7)), ids=str)
def test_layout_is_a_drawing_of_the_tree(tree: Tree) -> None:
    pos = drawing.tree_layout(tree)
    edges = drawing.tree_edges(tree)
    assert len(pos) == tree.order and len(edges) == tree.order - 1
    assert pos[0][1] == 0  # the root is at the bottom
    assert len(set(pos)) == tree.order  # no two nodes drawn on top of each other
    for parent, child in edges:
        assert parent < child and pos[child][1] == pos[parent][1] + 1
    # the edges rebuild the tree: the children of each node, recursively
    kids: dict[int, list[int]] = {}
    for parent, child in edges:
        kids.setdefault(parent, []).append(child)

    def rebuild(i: int) -> Tree:
        return Tree.from_children(rebuild(c) for c in kids.get(i, []))

    assert rebuild(0) == tree
    leaves = sorted(x for i, (x, _) in enumerate(pos) if i not in kids)
    assert leaves == [float(k) for k in range(len(leaves))]


def test_tree_html_and_latex() -> None:
    tree = Tree.from_levels([1, 2, 3, 2])
    page = tree._repr_html_()
    assert "<svg" in page and "f&#x27;&#x27;(f&#x27;f, f)" in page
    assert tree._repr_latex_() == f"${sympy.latex(tree)}$"
    assert sympy.latex(tree) == r"\left[\left[\bullet\right]\,\bullet\right]"


def test_several_trees_in_one_svg() -> None:
    items = list(trees(4))
    text = drawing.trees_svg(items, labels=True, titles=[str(t) for t in items])
    assert len(svg_elements(text, "circle")) == 4 * len(items)
    assert [e.text for e in svg_elements(text, "text")] == [str(t) for t in items]
    with pytest.raises(ValueError, match="at least one"):
        drawing.trees_svg([])
    with pytest.raises(ValueError, match="titles"):
        drawing.trees_svg(items, titles=["x"])


def test_bea_draws_without_matplotlib_or_torch() -> None:
    code = (
        "import sys, bea\n"
        "t = bea.Tree.from_levels([1, 2, 2, 3])\n"
        "t._repr_svg_(); t._repr_html_(); bea.modified_equation(bea.methods.rk4, 4).table()._repr_html_()\n"
        "assert 'matplotlib' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_draw_returns_a_figure() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    tree = Tree.from_levels([1, 2, 3, 3, 2])
    fig = tree.draw()
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.lines) == tree.order - 1 and len(ax.collections) == 1
    assert ax.collections[0].get_offsets().shape == (tree.order, 2)
    own = Figure()
    panel = own.add_subplot()
    assert tree.draw(panel, color="red") is own
    grid = drawing.draw_trees(trees(5), per_row=5)
    titled = [a.get_title() for a in grid.axes if a.get_title()]
    assert titled == [str(t) for t in trees(5)] and len(grid.axes) == 10


def test_tree_table() -> None:
    items = list(trees(3))
    table = drawing.tree_table(items, b=[1, 2])
    text = str(table).splitlines()
    assert text[0].split() == ["levels", "sigma", "gamma", "tree", "F(tree)", "b"]
    assert len(text) == 3 and text[2].split()[-1] == "2"
    page = table._repr_html_()
    assert page.count("<svg") == 2 and page.count("<tr>") == 3
    with pytest.raises(ValueError, match="column 'b'"):
        drawing.tree_table(items, b=[1])


# --- B-series ------------------------------------------------------------------------------------


def test_bseries_latex() -> None:
    series = modified_equation(methods.explicit_euler, 3)
    code = sympy.latex(series)
    assert code == (
        r"F\left(\bullet\right) - \frac{1}{2} h F\left(\left[\bullet\right]\right) "
        r"+ \frac{1}{3} h^{2} F\left(\left[\left[\bullet\right]\right]\right) "
        r"+ \frac{1}{12} h^{2} F\left(\left[\bullet^{2}\right]\right)"
    )
    assert series._repr_latex_() == f"${code}$"
    assert sympy.latex(exact_solution(2)).startswith(r"1 + h F\left(\bullet\right) + \frac{1}{2} h")
    assert sympy.latex(bea.BSeries({}, 2)) == "0"
    t = sympy.Symbol("t")
    symbolic = sympy.latex(bseries(methods.explicit_euler, 2) * (1 + t))
    assert r"\left(t + 1\right) h F" in symbolic


def test_bseries_table() -> None:
    series = modified_equation(methods.rk4, 5)
    table = series.table()
    assert len(str(table).splitlines()) == 1 + len(series)
    assert table._repr_html_().count("<svg") == len(series)
    assert str(table).splitlines()[1].split()[-1] == "1"


# --- modified flows and losses ----------------------------------------------------------------------


def test_flow_and_loss_latex() -> None:
    x = sympy.Symbol("x")
    flow = modified_flow(x**4 / 4, [x], truncation=2)
    code = sympy.latex(flow)
    assert code == flow.latex() and code.startswith(r"\begin{aligned}\dot{x} = ")
    assert code.count(r"\\") == 2 and r"- \frac{7 x^{7}}{2}" in code
    assert flow._repr_latex_() == f"$${code}$$"
    loss = flow.modified_loss()
    assert sympy.latex(loss) == (
        r"\tilde E = \frac{x^{4}}{4} + h \left(\frac{x^{6}}{4}\right) + h^{2} \left(\frac{7 x^{8}}{16}\right)"
    )
    assert loss._repr_latex_() == f"${sympy.latex(loss)}$"


def test_flow_latex_with_several_parameters() -> None:
    a, b = sympy.symbols("a b")
    flow = modified_flow(a**4 / 4 + a * b + b**2, [a, b], truncation=2)
    assert sympy.latex(flow).startswith(r"\begin{aligned}\frac{d}{dt}\left[\begin{matrix}a\\b\end{matrix}\right] = ")
    with pytest.raises(NotAGradientFieldError):
        flow.modified_loss()


# --- drift reports ---------------------------------------------------------------------------------


def report() -> DriftReport:
    hs = (0.02, 0.01, 0.005)
    orders = (
        TruncationResult(0, 1, 1.0, (2e-2, 1e-2, 5e-3), True),
        TruncationResult(1, 2, 2.0, (4e-4, 1e-4, 2.5e-5), True),
        TruncationResult(2, 3, None, (None, None, 1e-6), False),
    )
    return DriftReport(method="explicit_euler", hs=hs, time=1.0, theta0=(1.0, 2.0), device="cpu",
                       dtype="float64", tolerance=0.15, truncations=orders, warnings=("a <warning> & more",))


def test_drift_report_html_and_latex() -> None:
    rep = report()
    page = rep._repr_html_()
    assert "<table>" in page and "FAILED" in page and "&lt;warning&gt; &amp; more" in page
    code = sympy.latex(rep)
    assert code.startswith(r"\begin{array}{") and code.count(r"\\") == 3
    assert r"\text{explicit\_euler}" not in code and r"\text{invalid}" in code


def test_drift_report_plot() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    rep = report()
    fig = rep.plot()
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and len(ax.lines) == 6  # data and reference line per order
    own = Figure()
    panel = own.add_subplot()
    assert rep.plot(ax=panel) is own and len(panel.lines) == 6
