"""What changed between two starts' configurations, and which changes widen exposure."""

from __future__ import annotations

from typing import Any

import pytest

from chronolog.config_audit import (
    Change,
    changes,
    digest,
    flatten,
    leaves_loopback,
    longer,
    shorter_retention,
    switched_on,
    turned_off,
    weaker_level,
    widened,
)


def test_tables_flatten_to_dotted_keys_and_empty_ones_vanish() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}, "f": None}) == {"a.b": 1, "a.c.d": [1, 2],
                                                                               "f": None}


def test_a_first_start_has_no_changes_and_later_ones_list_each_setting() -> None:
    before = {"api": {"listen": "127.0.0.1:8470", "max": 1}, "old": 1}
    after = {"api": {"listen": "0.0.0.0:8470", "max": 1}, "new": {"x": 2}}
    assert changes(None, after) == []
    assert changes(before, after) == [Change("api.listen", "127.0.0.1:8470", "0.0.0.0:8470"),
                                      Change("new.x", None, 2), Change("old", 1, None)]
    assert changes(after, after) == []


def test_the_digest_ignores_key_order_and_nothing_else() -> None:
    assert digest({"a": 1, "b": {"c": 2}}) == digest({"b": {"c": 2}, "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert len(digest({})) == 64


@pytest.mark.parametrize("rule, before, after, widens", [
    (leaves_loopback, "127.0.0.1:9470", "0.0.0.0:9470", True),
    (leaves_loopback, "[::1]:9470", "[::]:9470", True),
    (leaves_loopback, "", "10.0.0.5:5514", True),  # a listener that was off
    (leaves_loopback, "localhost:1", "127.0.0.2:1", False),
    (leaves_loopback, "0.0.0.0:1", "127.0.0.1:1", False),  # narrowing
    (leaves_loopback, "0.0.0.0:1", "10.0.0.1:1", False),  # already beyond loopback
    (turned_off, "/etc/c.crt", None, True),
    (turned_off, None, "/etc/c.crt", False),
    (switched_on, False, True, True),
    (switched_on, True, False, False),
    (longer, 900, 3600, True),
    (longer, 900, 900, False),
    (longer, 900, 60, False),
    (shorter_retention, 0, 30, True),  # 0: for ever
    (shorter_retention, 90, 30, True),
    (shorter_retention, 30, 90, False),
    (shorter_retention, 30, 0, False),
    (weaker_level, "strict-aes", "high", True),
    (weaker_level, "high", "recommended", True),
    (weaker_level, "recommended", "strict-aes", False),
    (weaker_level, "high", "high", False),
])
def test_what_widens_exposure(rule: Any, before: Any, after: Any, widens: bool) -> None:
    assert rule(before, after) is widens


def test_widened_names_each_matching_change_once_with_why() -> None:
    rules = [("api.listen", leaves_loopback, "beyond loopback"), ("admins.*", switched_on, "new admin"),
             ("admins.*", lambda b, a: True, "never reached for a change the first rule took")]
    found = [Change("api.listen", "127.0.0.1:1", "0.0.0.0:1"), Change("admins.bob", None, "city"),
             Change("api.max", 1, 2)]
    assert widened(found, rules) == [
        {"setting": "api.listen", "before": "127.0.0.1:1", "after": "0.0.0.0:1", "why": "beyond loopback"},
        {"setting": "admins.bob", "before": None, "after": "city", "why": "new admin"}]
