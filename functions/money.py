"""Exact money: parse client amounts into integer cents, format cents back to strings.

Amounts never pass through a float: JSON numbers are parsed as ``Decimal``
(see ``functions.http.request.parse_json``) and sums are integer cents.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from functions.errors import ValidationFailed

MAX_AMOUNT_CENTS = 100_000_000  # 1,000,000.00
_CENT = Decimal("0.01")

# ISO 4217 codes with two minor units that a payments API is usually asked for.
CURRENCIES = frozenset(
    [
        "AED",
        "AUD",
        "BGN",
        "BRL",
        "CAD",
        "CHF",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "ILS",
        "INR",
        "MXN",
        "NOK",
        "NZD",
        "PLN",
        "RON",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "UAH",
        "USD",
        "ZAR",
    ]
)


def parse_amount(value: object, field: str = "amount") -> int:
    """Return ``value`` as integer cents, or raise ``ValidationFailed`` naming the problem.

    Accepts a JSON number (already a ``Decimal``/``int``) or a decimal string.

    >>> parse_amount("12.50")
    1250
    >>> parse_amount(Decimal("0.1"))
    10
    """
    if isinstance(value, bool) or value is None:
        raise ValidationFailed(f"{field} must be a number or a decimal string", field=field)
    if isinstance(value, float):  # only reachable when a caller bypasses parse_json
        value = Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        # ASCII only: Decimal() would take "\uff11.00" (full-width digits) as 1.00
        if not text or len(text) > 32 or text != value or not text.isascii():
            raise ValidationFailed(f'{field} must be a decimal string like "12.50"', field=field)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValidationFailed(f"{field} is not a decimal number: {text!r}", field=field) from None
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise ValidationFailed(f"{field} must be a number or a decimal string", field=field)
    if not value.is_finite():
        raise ValidationFailed(f"{field} must be finite", field=field)
    if value <= 0:
        raise ValidationFailed(f"{field} must be greater than 0", field=field)
    if value > Decimal(MAX_AMOUNT_CENTS) / 100:
        raise ValidationFailed(f"{field} must be at most 1000000.00", field=field)
    if value != value.quantize(_CENT, rounding=ROUND_HALF_EVEN):
        raise ValidationFailed(f"{field} must have at most 2 decimal places", field=field)
    return int(value * 100)


def parse_currency(value: object, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value not in CURRENCIES:  # every code in it is upper-case
        raise ValidationFailed('currency must be an upper-case ISO 4217 code such as "EUR"', field="currency")
    return value


def format_cents(cents: int) -> str:
    """``1250`` -> ``"12.50"``; exact for any integer."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def average_cents(total_cents: int, count: int) -> str:
    """Average as an exact 2-decimal string, rounded half-even; ``"0.00"`` for no items."""
    if count == 0:
        return "0.00"
    avg = (Decimal(total_cents) / Decimal(count) / 100).quantize(_CENT, rounding=ROUND_HALF_EVEN)
    return f"{avg:.2f}"
