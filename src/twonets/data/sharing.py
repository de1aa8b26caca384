"""Sharing by request: a department asks for a dataset (or some fields) for a stated purpose
and period; the owner department approves or refuses with a reason; a grant expires.

Sharing classes: `unconditional` requests are granted at once (masked reads; unmasked needs
the owner's approval), `conditional` wait for the owner, `not_shared` cannot be requested.

One decision per request: a request moves pending → approved | refused | withdrawn, and
approved → revoked, each by a compare-and-set that only one of racing callers wins (the
others get Conflict, 409); an approval makes exactly one grant (a unique constraint), and
revoking a request (or its grant) ends every grant it produced. A read checks the grant in
its own transaction: a read that began before a revocation committed may still finish.

The public face of sharing: requests and decisions (`share_requests`) and the grants they
produce (`grants`) live in modules of their own and are re-exported here.
"""

from __future__ import annotations

from twonets.data.grants import Grant, active_grants, get_grant, list_grants, revoke_grant  # noqa: F401  (part of the sharing API)
from twonets.data.share_requests import (  # noqa: F401  (part of the sharing API)
    MAX_PERIOD,
    REQUEST_ROLES,
    ShareRequest,
    decide,
    get_request,
    list_requests,
    request_share,
    revoke_request,
    withdraw,
)
