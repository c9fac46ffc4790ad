"""numeric: the torch backend of bea (emitted functions, autodiff, drift checks).

Needs the optional ``torch`` extra: ``pip install -c constraints.txt -e .[torch]``.
"""

from __future__ import annotations

__all__: list[str] = []
