"""Domain errors. Adapters map them to HTTP problem details (api) or exit codes (cli).

An error's `detail` (and its `title`, and each `errors[].message`) is a `Msg`: the message id
and its parameters, read as English text, said in the reader's language by the adapter
(`twonets.core.i18n.translate`)."""

from __future__ import annotations

from typing import Any

from twonets.core.i18n import Msg


class DomainError(Exception):
    """Base of every error a person can act on. `status` is the HTTP status it maps to."""

    status = 400
    title: str = Msg("Bad request")

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = Msg("Invalid input")


class NotFound(DomainError):
    status = 404
    title = Msg("Not found")


class Conflict(DomainError):
    status = 409
    title = Msg("Conflict")


class IllegalTransition(Conflict):
    title = Msg("Illegal transition")

    def __init__(self, state: str, action: str, allowed: list[str]):
        allowed_txt = ", ".join(allowed) if allowed else Msg("none (the order is final)")
        super().__init__(
            Msg("Cannot {action} an order that is {state}. Allowed now: {allowed}.", action=action, state=state,
                allowed=allowed_txt),
            allowed=allowed,
            state=state,
            action=action,
        )


class Forbidden(DomainError):
    status = 403
    title = Msg("Forbidden")


class Unauthorized(DomainError):
    status = 401
    title = Msg("Unauthorized")
