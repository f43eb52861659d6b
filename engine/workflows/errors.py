"""Why a workflow transition was refused: wrong state, wrong role or invalid form answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.errors import Conflict, InputInvalid, PermissionDenied


class TransitionNotAllowed(Conflict):
    """The transition does not exist, or cannot be taken from the current state."""

    def __init__(self, transition: str, state: str, reason: str) -> None:
        super().__init__(f"transition '{transition}' is not allowed from '{state}': {reason}")
        self.transition = transition
        self.state = state
        self.reason = reason


class RoleNotAllowed(PermissionDenied):
    """The user holds none of the roles that may take the transition."""

    def __init__(self, transition: str, required: Iterable[str], held: Iterable[str]) -> None:
        self.transition = transition
        self.required = tuple(required)
        self.held = tuple(sorted(held))
        super().__init__(
            f"transition '{transition}' needs the role {' or '.join(self.required)}"
            f"; you have {', '.join(self.held) or 'no role'}"
        )


class FormInvalid(InputInvalid):
    """The answers to a transition's form are invalid; ``fields`` maps each field to its message.

    ``errors`` keeps the shape of ``InputInvalid``: ``[{"field": name, "message": text}]``.
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.fields = dict(errors)
        super().__init__([{"field": k, "message": v} for k, v in self.fields.items()])
