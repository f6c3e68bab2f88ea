"""The fast ULID encoding is the plain one, bit for bit."""

from __future__ import annotations

import os
import random
from unittest import mock

from functions import ids


def test_new_id_equals_the_divmod_definition_for_any_time_and_randomness() -> None:
    rng = random.Random(4)
    for ms in [0, 1, 2**48 - 1, *(rng.randrange(2**48) for _ in range(2000))]:
        noise = os.urandom(10)
        with mock.patch("os.urandom", return_value=noise):
            assert ids.new_id(ms) == ids._new_id_by_division(ms)


def test_new_ids_are_valid_and_time_ordered() -> None:
    first, second = ids.new_id(1_700_000_000_000), ids.new_id(1_700_000_000_001)
    assert ids.is_id(first) and ids.is_id(second)
    assert first < second
