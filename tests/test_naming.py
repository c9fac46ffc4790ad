"""One word, one meaning: the power-of-h truncation of a flow is ``truncation``; ``order`` is deprecated there.

Each deprecated spelling must still give the same result as the new one (checked against the new
spelling and, where cheap, against a closed form) and must warn exactly once.
"""

from __future__ import annotations

import warnings

import pytest
import sympy

from bea import methods
from bea.cli import main
from bea.errors import BeaTypeError, InvalidTruncationError, NotAGradientFieldError
from bea.flows import modified_flow
from bea.gradient_form import loss_derivative_form

X = sympy.Symbol("x")
A, B = sympy.symbols("a b")


def _one_deprecation(record: list[warnings.WarningMessage]) -> str:
    messages = [str(w.message) for w in record if issubclass(w.category, DeprecationWarning)]
    assert len(messages) == 1, messages
    return messages[0]


def test_modified_flow_order_keyword_is_a_deprecated_alias() -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        old = modified_flow(X**2 / 2, [X], order=2)
    assert "truncation=" in _one_deprecation(record)
    # GD on x²/2: the modified field is log(1 - h) x / h = -(1 + h/2 + h²/3 + ...) x (closed form)
    assert old.terms == (sympy.Matrix([[-X]]), sympy.Matrix([[-X / 2]]), sympy.Matrix([[-X / 3]]))
    assert old == modified_flow(X**2 / 2, [X], truncation=2)
    assert old.truncation == 2
    with pytest.warns(DeprecationWarning, match=r"\.truncation"):
        assert old.order == 2


def test_giving_both_names_is_refused() -> None:
    with pytest.raises(BeaTypeError, match="not both"):
        modified_flow(X**2 / 2, [X], truncation=3, order=2)


def test_field_and_modified_loss_order_keywords() -> None:
    flow = modified_flow(X**4 / 4, [X], truncation=2)
    with pytest.warns(DeprecationWarning, match="ModifiedFlow.field"):
        old_field = flow.field(order=1)
    assert old_field == flow.field(truncation=1) == sympy.Matrix([[-X**3 - flow.h * 3 * X**5 / 2]])
    with pytest.warns(DeprecationWarning, match="ModifiedFlow.modified_loss"):
        old_loss = flow.modified_loss(order=1)
    assert old_loss == flow.modified_loss(truncation=1)
    assert old_loss.potentials == (X**4 / 4, X**6 / 4)  # E + (h/4) E'(x)², E' = x³
    with pytest.warns(DeprecationWarning, match=r"\.truncation"):
        assert old_loss.order == 1


def test_not_a_gradient_error_names_the_power() -> None:
    flow = modified_flow(A**4 / 4 + A * B + B**2, [A, B], truncation=2)
    with pytest.raises(NotAGradientFieldError, match=r"truncation=1") as info:
        flow.modified_loss()
    assert info.value.power == 2
    with pytest.warns(DeprecationWarning, match=r"\.power"):
        assert info.value.order == 2


def test_loss_derivative_form_order_keyword() -> None:
    with pytest.warns(DeprecationWarning, match="loss_derivative_form"):
        old = loss_derivative_form(methods.explicit_euler, order=2)
    new = loss_derivative_form(methods.explicit_euler, 2)
    assert old == new and new.truncation == 2 and new.to_dict()["truncation"] == 2
    assert str(new) == "-g - 1/2 h Hg - h² (1/3 H²g + 1/12 T[g, g])"  # math.md, explicit Euler
    with pytest.raises(BeaTypeError, match="truncation"):
        loss_derivative_form(methods.explicit_euler)


@pytest.mark.parametrize("bad, error", [(-1, InvalidTruncationError), (1.5, BeaTypeError), (True, BeaTypeError)])
def test_truncation_checked_in_one_place(bad: object, error: type[Exception]) -> None:
    flow = modified_flow(X**2 / 2, [X], truncation=1)
    for call in (lambda: modified_flow(X**2 / 2, [X], truncation=bad),  # type: ignore[arg-type]
                 lambda: flow.field(bad),  # type: ignore[arg-type]
                 lambda: loss_derivative_form(methods.explicit_euler, bad)):  # type: ignore[arg-type]
        with pytest.raises(error, match=str(bad)):
            call()
    with pytest.raises(InvalidTruncationError, match="h\\^1"):
        flow.field(2)


def test_cli_derive_order_is_a_deprecated_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--truncation", "2"]) == 0
    new = capsys.readouterr()
    assert main(["derive", "--order", "2"]) == 0
    old = capsys.readouterr()
    assert old.out == new.out and "H²g" in new.out
    assert new.err == ""
    assert old.err.strip().splitlines() == ["bea: warning: --order is deprecated, use --truncation"]
    assert main(["derive", "--loss", "x^4/4", "--params", "x", "--truncation", "1", "--format", "json"]) == 0
    assert '"truncation": 1' in capsys.readouterr().out


def test_cli_help_shows_only_the_new_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["derive", "--help"])
    text = capsys.readouterr().out
    assert "--truncation P" in text and "--order" not in text


# ----------------------------------------------------------------------------- numeric (torch backend)
def test_numeric_order_keywords_are_deprecated_aliases() -> None:
    torch = pytest.importorskip("torch")
    from numeric.autodiff import ModifiedField
    from numeric.codegen import compile_field
    from numeric.drift import expected_slope

    loss = lambda t: 0.5 * (t**2).sum()  # noqa: E731 - GD: f_h = -(1 + h/2 + h²/3) θ through h²
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64)
    with pytest.warns(DeprecationWarning, match="ModifiedField"):
        old = ModifiedField(loss, order=2, h=0.1)
    new = ModifiedField(loss, truncation=2, h=0.1)
    expected = -(1 + 0.1 / 2 + 0.01 / 3) * theta
    torch.testing.assert_close(old(theta), expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(new(theta), expected, rtol=1e-14, atol=0)
    with pytest.warns(DeprecationWarning, match=r"\.truncation"):
        assert old.order == 2

    flow = modified_flow(X**2 / 2, [X], truncation=2)
    with pytest.warns(DeprecationWarning, match="compile_field"):
        fn = compile_field(flow, order=1, backend="numpy", h=0.5)
    assert fn.truncation == 1 and fn([3.0]).tolist() == [-3.0 - 0.5 * 1.5]
    with pytest.warns(DeprecationWarning, match="expected_slope"):
        assert expected_slope(methods.explicit_euler, order=2) == 3
    assert expected_slope(methods.explicit_midpoint, 0) == 2  # order-2 method: no h^1 term


def test_drift_check_orders_keyword_and_report_names() -> None:
    pytest.importorskip("torch")
    from numeric.drift import drift_check

    flow = modified_flow(X**2 / 2, [X], truncation=1)
    with pytest.warns(DeprecationWarning, match="truncations="):
        old = drift_check(flow, [1.0], (0.02, 0.01), time=0.2, orders=(0, 1), check_integration=False)
    new = drift_check(flow, [1.0], (0.02, 0.01), time=0.2, truncations=(0, 1), check_integration=False)
    assert [o.errors for o in old.truncations] == [o.errors for o in new.truncations]
    data = new.to_dict()
    assert data["schema"] == "bea.drift/2" and [o["truncation"] for o in data["truncations"]] == [0, 1]
    assert "orders" not in data
    with pytest.warns(DeprecationWarning, match=r"\.truncations"):
        assert new.orders == new.truncations
    with pytest.warns(DeprecationWarning, match=r"\.truncation"):
        assert new[1].order == 1
    with pytest.warns(DeprecationWarning, match="TruncationResult"):
        from numeric.drift_report import OrderResult  # noqa: F401


def test_cli_verify_orders_is_a_deprecated_alias(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    argv = ["verify", "--loss", "x^2/2", "--params", "x", "--init", "x=1", "--h", "0.02", "0.01", "--time", "0.2",
            "--format", "json", "--no-progress"]
    assert main([*argv, "--orders", "0", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["bea: warning: --orders is deprecated, use --truncations"]
    assert '"truncation": 1' in captured.out and '"order"' not in captured.out
    assert main([*argv, "--truncations", "0", "1"]) == 0
    assert capsys.readouterr().err == ""
