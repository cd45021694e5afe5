"""The one comma-list rule every command's comma-separated option follows (`coscale.commalist`)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coscale.commalist import comma_items, comma_numbers
from coscale.errors import CoscaleError


@given(st.lists(st.floats(min_value=1e-6, max_value=1e12, allow_nan=False), min_size=1, max_size=8))
def test_positive_numbers_round_trip(values: list[float]) -> None:
    assert comma_numbers(",".join(repr(v) for v in values), "--rates") == tuple(values)


@given(st.lists(st.integers(min_value=1, max_value=2**31 - 1), min_size=1, max_size=8))
def test_integers_round_trip_as_ints(values: list[int]) -> None:
    out = comma_numbers(", ".join(str(v) for v in values), "--tps", integer=True)
    assert out == tuple(values) and all(type(v) is int for v in out)


@pytest.mark.parametrize(("text", "integer", "needle"), [
    ("1,,2", False, "has an empty item"), ("1,2,", False, "has an empty item"), (",1", True, "has an empty item"),
    ("1,x", False, "must be comma-separated numbers"), ("2,a", True, "must be comma-separated integers"),
    ("0", False, "finite positive numbers"), ("-1,2", True, "whole numbers from 1 to 2,147,483,647"),
    ("2.5", True, "whole numbers from 1"), ("inf", False, "finite positive numbers"),
    ("nan", False, "finite positive numbers"), ("1e-320", False, "(from 1e-300)"),
    ("1e300", True, "whole numbers from 1 to 2,147,483,647"), ("inf", True, "whole numbers"),
    ("99999999999999999999", True, "got '99999999999999999999'"), ("2147483648", True, "to 2,147,483,647"),
])
def test_bad_lists_name_the_flag_and_the_rule(text: str, integer: bool, needle: str) -> None:
    with pytest.raises(CoscaleError) as err:
        comma_numbers(text, "--flag", integer=integer)
    assert needle in str(err.value) and "--flag" in str(err.value)


def test_items_are_stripped_and_never_dropped() -> None:
    assert comma_items(" a , b ", "--recipes") == ["a", "b"]
    assert comma_numbers("1e3", "--tps", integer=True) == (1000,) and math.isclose(comma_numbers("0.5", "-r")[0], 0.5)
