"""Domain errors. Adapters map them to HTTP problem details (api) or exit codes (cli)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a person can act on. `status` is the HTTP status it maps to."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class IllegalTransition(Conflict):
    title = "Illegal transition"

    def __init__(self, state: str, action: str, allowed: list[str]):
        allowed_txt = ", ".join(allowed) if allowed else "none (the order is final)"
        super().__init__(
            f"Cannot {action} an order that is {state}. Allowed now: {allowed_txt}.",
            allowed=allowed,
            state=state,
            action=action,
        )


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
