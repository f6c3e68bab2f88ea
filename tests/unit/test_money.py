from decimal import Decimal

import pytest

from functions.errors import ValidationFailed
from functions.money import average_cents, format_cents, parse_amount, parse_currency


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (Decimal("12.5"), 1250),
        ("12.50", 1250),
        (1, 100),
        ("0.01", 1),
        (Decimal("1000000.00"), 100_000_000),
        ("1000000", 100_000_000),
        (Decimal("0.10"), 10),
    ],
)
def test_valid_amounts_become_exact_cents(value: object, cents: int) -> None:
    assert parse_amount(value) == cents


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (Decimal("0"), "greater than 0"),
        ("-1", "greater than 0"),
        (Decimal("-0.01"), "greater than 0"),
        ("1.234", "2 decimal places"),
        (Decimal("0.001"), "2 decimal places"),
        ("1000000.01", "at most 1000000.00"),
        (Decimal("1E+400"), "at most"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        (True, "number"),
        (None, "number"),
        ([], "number"),
        ({}, "number"),
        ("abc", "not a decimal"),
        ("", "decimal string"),
        (" 12", "decimal string"),
        ("1" * 40, "decimal string"),
    ],
)
def test_invalid_amounts_name_the_problem(value: object, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_amount(value)
    assert fragment in caught.value.message
    assert caught.value.details["field"] == "amount"


def test_currency_defaults_and_validates() -> None:
    assert parse_currency(None, "EUR") == "EUR"
    assert parse_currency("USD", "EUR") == "USD"
    for bad in ("usd", "XXX", 12, "EURO"):
        with pytest.raises(ValidationFailed):
            parse_currency(bad, "EUR")


def test_formatting_and_average_are_exact() -> None:
    assert format_cents(1250) == "12.50"
    assert format_cents(5) == "0.05"
    assert format_cents(100_000_000) == "1000000.00"
    # 0.10 + 0.20 must be 0.30, never 0.30000000000000004
    assert format_cents(parse_amount("0.10") + parse_amount("0.20")) == "0.30"
    assert average_cents(1000, 3) == "3.33"
    assert average_cents(1001, 2) == "5.00"  # 5.005 rounds half-even
    assert average_cents(1003, 2) == "5.02"  # 5.015 rounds half-even
    assert average_cents(0, 0) == "0.00"


def test_edges_of_the_amount_rules() -> None:
    """Each rule to its edge: the longest string taken, whitespace on either side, an amount
    that half-even rounding would round up, zero and negative cents formatted."""
    assert parse_amount("0" * 28 + "1.00") == 100  # 32 characters: taken
    for refused, fragment in [
        ("0" * 29 + "1.00", "decimal string"),  # 33 characters
        ("12 ", "decimal string"),
        ("\t12\n", "decimal string"),
        ("1.235", "2 decimal places"),  # rounds up to 1.24 half-even: still refused
        ("0.015", "2 decimal places"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            parse_amount(refused)
        assert fragment in caught.value.message, refused
    with pytest.raises(ValidationFailed) as caught:
        parse_amount("x" * 32)
    assert caught.value.message == f"amount is not a decimal number: {'x' * 32!r}"
    assert (format_cents(0), format_cents(-1), format_cents(-1250)) == ("0.00", "-0.01", "-12.50")
