r"""Pictures of rooted trees: a layout, pure-Python SVG, matplotlib drawings, HTML tables.

Trees are drawn as in Butcher's and Hairer--Lubich--Wanner's books: the root at the
bottom, children above their parent, in the order of the canonical level sequence.
:func:`tree_svg` needs nothing but the standard library (it is what ``Tree._repr_svg_``
returns, so a tree shows as a picture in Jupyter); :func:`draw_tree` and
:func:`draw_trees` use matplotlib, imported only when they are called.

The layout puts the leaves on consecutive columns, left to right in depth-first order,
and every inner node above the middle of its first and last child:

>>> from bea import Tree
>>> tree_layout(Tree.from_levels([1, 2, 3, 2]))
((0.5, 0), (0.0, 1), (0.0, 2), (1.0, 1))
>>> tree_edges(Tree.from_levels([1, 2, 3, 2]))
((0, 1), (1, 2), (0, 3))
>>> tree_svg(Tree.leaf()).startswith("<svg")
True
>>> print(tree_table([Tree.from_levels([1, 2, 2])]))
levels     sigma  gamma  tree  F(tree)
[1, 2, 2]      2      3  [•²]  f''(f, f)
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bea.errors import BeaValueError

__all__ = [
    "DrawableTree",
    "TreeTable",
    "draw_tree",
    "draw_trees",
    "tree_edges",
    "tree_layout",
    "tree_svg",
    "tree_table",
    "trees_svg",
]

class DrawableTree(Protocol):
    """What the drawing functions read of a tree (:class:`bea.Tree` has it); so this module needs no
    import of :mod:`bea.trees`, which imports it."""

    @property
    def levels(self) -> tuple[int, ...]: ...
    @property
    def elementary_differential(self) -> str: ...
    @property
    def symmetry(self) -> int: ...
    @property
    def density(self) -> int: ...


#: Pixels between neighbouring leaves and between levels, and the node radius, in SVG output.
SVG_DX, SVG_DY, SVG_RADIUS = 14.0, 16.0, 3.5


def tree_edges(tree: DrawableTree) -> tuple[tuple[int, int], ...]:
    """The edges (parent, child) as indices into the level sequence, in depth-first order.

    Node i's parent is the last earlier node one level up. For :math:`[[\\bullet^2]]`:

    >>> from bea import Tree
    >>> tree_edges(Tree.from_levels([1, 2, 3, 3]))
    ((0, 1), (1, 2), (1, 3))

    Reference: Beyer & Hedetniemi, *Constant time generation of rooted trees*, SIAM J. Comput. 9 (1980).
    """
    levels = tree.levels
    stack: list[int] = []  # stack[d] = the last node seen at level d + 1
    edges = []
    for i, level in enumerate(levels):
        del stack[level - 1 :]
        if stack:
            edges.append((stack[-1], i))
        stack.append(i)
    return tuple(edges)


def tree_layout(tree: DrawableTree) -> tuple[tuple[float, int], ...]:
    """(x, y) of every node, in level-sequence order: y = level - 1 (root at 0), leaves at x = 0, 1, 2, ...

    >>> from bea import Tree
    >>> tree_layout(Tree.from_levels([1, 2, 2]))  # [•²]: two leaves, the root between them
    ((0.5, 0), (0.0, 1), (1.0, 1))

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """
    levels = tree.levels
    children: list[list[int]] = [[] for _ in levels]
    for parent, child in tree_edges(tree):
        children[parent].append(child)
    xs: list[float] = [0.0] * len(levels)
    column = 0
    for i in range(len(levels)):  # leaves get columns in depth-first order
        if not children[i]:
            xs[i] = float(column)
            column += 1
    for i in reversed(range(len(levels))):  # every child has a larger index than its parent
        if children[i]:
            xs[i] = (xs[children[i][0]] + xs[children[i][-1]]) / 2
    return tuple((xs[i], levels[i] - 1) for i in range(len(levels)))


def _svg_body(tree: DrawableTree, x0: float, y0: float, height: int, radius: float) -> list[str]:
    """SVG elements of one tree whose leftmost column is at x0 and whose top row (level ``height``) is at y0."""
    pos = [(x0 + x * SVG_DX, y0 + (height - 1 - y) * SVG_DY) for x, y in tree_layout(tree)]
    parts = [
        f'<line x1="{pos[p][0]:g}" y1="{pos[p][1]:g}" x2="{pos[c][0]:g}" y2="{pos[c][1]:g}"/>'
        for p, c in tree_edges(tree)
    ]
    parts += [f'<circle cx="{x:g}" cy="{y:g}" r="{radius:g}"/>' for x, y in pos]
    return parts


def _width(tree: DrawableTree) -> float:
    return max(x for x, _ in tree_layout(tree)) * SVG_DX


def _height(tree: DrawableTree) -> int:
    return max(tree.levels)


def tree_svg(tree: DrawableTree, *, scale: float = 1.0, title: str | None = None) -> str:
    """A standalone SVG picture of ``tree`` (root at the bottom), as a string.

    ``title`` becomes the SVG ``<title>`` (a tooltip); by default the bracket notation and F(τ).
    Strokes and fills use ``currentColor``, so the picture follows the text colour where inlined.

    >>> from bea import Tree
    >>> svg = tree_svg(Tree.from_levels([1, 2]), title="f'f")
    >>> svg[:63]
    '<svg xmlns="http://www.w3.org/2000/svg" width="14" height="30" '
    >>> svg.count("<circle"), svg.count("<line"), "<title>f&#x27;f</title>" in svg
    (2, 1, True)

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """
    return trees_svg([tree], scale=scale, titles=None if title is None else [title])


def trees_svg(
    trees: Iterable[DrawableTree], *, scale: float = 1.0, titles: Sequence[str] | None = None, labels: bool = False
) -> str:
    """One SVG picture with ``trees`` side by side, bottoms aligned (``labels``: the bracket notation below).

    >>> from bea import trees
    >>> svg = trees_svg(trees(3), labels=True)  # [[•]] and [•²]
    >>> svg.count("<g>"), svg.count("<text"), svg.count("<circle")
    (2, 2, 6)

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """
    items = list(trees)
    if not items:
        raise BeaValueError("trees_svg needs at least one tree")
    if titles is not None and len(titles) != len(items):
        raise BeaValueError(f"trees_svg got {len(titles)} titles for {len(items)} trees")
    margin, gap, label_h = 2 * SVG_RADIUS, 2.5 * SVG_DX, 14.0 if labels else 0.0
    height = max(_height(t) for t in items)
    x = margin
    body: list[str] = []
    for i, tree in enumerate(items):
        title = titles[i] if titles is not None else f"{tree}: {tree.elementary_differential}"
        width = _width(tree)
        group = _svg_body(tree, x, margin, height, SVG_RADIUS)
        body.append(f"<g><title>{html.escape(title)}</title>{''.join(group)}</g>")
        if labels:
            body.append(
                f'<text x="{x + width / 2:g}" y="{margin + (height - 1) * SVG_DY + label_h + 2:g}" '
                f'text-anchor="middle" font-size="10" stroke="none">{html.escape(str(tree))}</text>'
            )
        x += width + gap
    w = x - gap + margin
    h = 2 * margin + (height - 1) * SVG_DY + label_h
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * scale:g}" height="{h * scale:g}" '
        f'viewBox="0 0 {w:g} {h:g}" stroke="currentColor" fill="currentColor" stroke-width="1.3">'
        + "".join(body)
        + "</svg>"
    )


def draw_tree(tree: DrawableTree, ax: Any = None, *, color: str = "black", node_size: float = 30.0) -> Any:
    """Draw ``tree`` with matplotlib on ``ax`` (a new figure if None); returns the Figure.

    The axes are switched off and given an equal aspect ratio. matplotlib is imported here,
    so the rest of ``bea`` works without it.
    """
    pos = tree_layout(tree)
    if ax is None:
        from matplotlib.figure import Figure

        width = max(x for x, _ in pos) + 1
        fig = Figure(figsize=(0.45 * width + 0.4, 0.45 * _height(tree) + 0.3))
        ax = fig.add_subplot()
    for p, c in tree_edges(tree):
        ax.plot([pos[p][0], pos[c][0]], [pos[p][1], pos[c][1]], "-", color=color, lw=1.5, zorder=1)
    ax.scatter([x for x, _ in pos], [y for _, y in pos], s=node_size, color=color, zorder=2)
    ax.set_aspect("equal")
    ax.margins(0.25)
    ax.set_axis_off()
    return ax.figure


def draw_trees(trees: Iterable[DrawableTree], *, labels: bool = True, per_row: int = 8, **style: Any) -> Any:
    """A matplotlib Figure with one small panel per tree (titled with its bracket notation)."""
    from matplotlib.figure import Figure

    items = list(trees)
    if not items:
        raise BeaValueError("draw_trees needs at least one tree")
    cols = min(per_row, len(items))
    rows = -(-len(items) // cols)
    width = max(max(x for x, _ in tree_layout(t)) for t in items) + 1.0
    height = float(max(_height(t) for t in items))
    fig = Figure(figsize=(0.32 * cols * max(width, 2.5), 0.4 * rows * (height + 1.2)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < len(items):
            draw_tree(items[k], ax, **style)
            centre = max(x for x, _ in tree_layout(items[k])) / 2
            ax.set_xlim(centre - width / 2, centre + width / 2)  # one scale for every panel
            ax.set_ylim(-0.5, height - 0.5)
            if labels:
                ax.set_title(str(items[k]), fontsize=9)
        else:
            ax.set_axis_off()
    return fig


@dataclass(frozen=True)
class TreeTable:
    """A table of trees with pictures: HTML in Jupyter (``_repr_html_``), aligned text in ``str``.

    ``columns`` maps a column name to one value per tree; :func:`tree_table` adds the
    level sequence, σ, γ, the bracket notation and F(τ) in front.

    >>> from bea import Tree
    >>> table = TreeTable((Tree.leaf(),), {"b": (1,)})
    >>> print(table)
    levels  sigma  gamma  tree  F(tree)  b
    [1]         1      1  •     f        1
    >>> table._repr_html_().startswith("<table><thead><tr><th>picture</th>")
    True

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """

    trees: tuple[DrawableTree, ...]
    columns: Mapping[str, Sequence[object]]

    def _header_and_rows(self) -> tuple[list[str], list[list[str]]]:
        head = ["levels", "sigma", "gamma", "tree", "F(tree)", *self.columns]
        rows = [
            [str(list(t.levels)), str(t.symmetry), str(t.density), str(t), t.elementary_differential]
            + [str(values[i]) for values in self.columns.values()]
            for i, t in enumerate(self.trees)
        ]
        return head, rows

    def __str__(self) -> str:
        head, rows = self._header_and_rows()
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        right = {1, 2}
        lines = [
            "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in [head, *rows]
        ]
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        head, rows = self._header_and_rows()
        cells = "".join(f"<th>{html.escape(c)}</th>" for c in ["picture", *head])
        body = "".join(
            f"<tr><td>{tree_svg(t)}</td>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for t, row in zip(self.trees, rows, strict=True)
        )
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def tree_table(trees: Iterable[DrawableTree], **columns: Sequence[object]) -> TreeTable:
    """A :class:`TreeTable` of ``trees``; every keyword adds a column (one value per tree).

    The modified equation of explicit Euler has :math:`b([[\\bullet]]) = 1/3`, :math:`b([\\bullet^2]) = 1/6`:

    >>> import sympy
    >>> from bea import trees
    >>> print(tree_table(trees(3), b=[sympy.Rational(1, 3), sympy.Rational(1, 6)]))
    levels     sigma  gamma  tree   F(tree)    b
    [1, 2, 3]      1      6  [[•]]  f'f'f      1/3
    [1, 2, 2]      2      3  [•²]   f''(f, f)  1/6

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section IX.9.
    """
    items = tuple(trees)
    for name, values in columns.items():
        if len(values) != len(items):
            raise BeaValueError(f"column {name!r} has {len(values)} values for {len(items)} trees")
    return TreeTable(items, {name: tuple(values) for name, values in columns.items()})
