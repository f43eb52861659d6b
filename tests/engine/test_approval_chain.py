"""Approval chains by amount (issue #18): every threshold passed is a level, lowest first."""

from __future__ import annotations

from engine.metrics import approval_chain
from engine.rules.compiled import ApprovalThreshold as T

LEVELS = (T(20000, "purchasing-manager"), T(5000, "buyer-lead"), T(100000, "director"))


def test_each_threshold_the_amount_is_above_is_a_level_from_the_lowest() -> None:
    assert approval_chain(4000, LEVELS) == ()
    assert approval_chain(5000, LEVELS) == ()  # above, not at
    assert approval_chain(6000, LEVELS) == ("buyer-lead",)
    assert approval_chain(25000, LEVELS) == ("buyer-lead", "purchasing-manager")
    assert approval_chain(2e5, LEVELS) == ("buyer-lead", "purchasing-manager", "director")


def test_an_unknown_amount_goes_through_every_level_and_a_role_approves_once_in_a_row() -> None:
    assert approval_chain(None, LEVELS) == ("buyer-lead", "purchasing-manager", "director")
    same = (T(10, "manager"), T(100, "manager"), T(1000, "director"))
    assert approval_chain(5000, same) == ("manager", "director")
