"""Decisions as values: a rule returns allow, or deny with every reason that applied."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[StrEnum, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(str(reason) for reason in self.reasons)

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def deny(*reasons: StrEnum) -> Decision:
    if not reasons:
        raise ValueError("a denial needs at least one reason")
    return Decision(False, tuple(reasons))


def combine(reasons: list[StrEnum]) -> Decision:
    """Allow when no rule objected, else deny with every objection in the order found."""
    return deny(*reasons) if reasons else ALLOW
