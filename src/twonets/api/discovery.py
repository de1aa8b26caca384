"""OpenID Connect discovery (`/.well-known/openid-configuration`, OpenID Connect Discovery 1.0):
the issuer every access token names in `iss` (the public base URL, `TWONETS_PUBLIC_BASE_URL`,
unless `TWONETS_JWT_ISSUER` says otherwise) and the JWKS that verifies them.

Limits: twonets signs people in with a password at `POST /api/v1/auth/login` (JSON), not
through an OAuth authorization endpoint, so the document names no `authorization_endpoint`;
relying parties use it to find the issuer and its keys and to verify tokens.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from twonets.core.config import settings

router = APIRouter(tags=["identity"])


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery: issuer and JWKS")
def openid_configuration() -> dict[str, Any]:
    cfg = settings()
    base = cfg.public_base_url
    return {
        "issuer": cfg.jwt_issuer,
        "jwks_uri": f"{base}/api/v1/auth/jwks",
        "token_endpoint": f"{base}/api/v1/auth/login",
        "userinfo_endpoint": f"{base}/api/v1/auth/me",
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256" if cfg.jwt_secret else "EdDSA"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "roles", "department", "street", "grid",
                             "preferred_username"],
    }
