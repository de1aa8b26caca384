"""Configuration from the environment (TWONETS_*), read once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _networks(name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or networks (CIDR), checked at start."""
    import ipaddress

    out = []
    for item in (os.environ.get(name) or "").split(","):
        if item.strip():
            try:
                out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{name}: {item.strip()!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    return tuple(out)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"


def _base_url(env) -> str:
    # TWONETS_PUBLIC_URL is the older name (licence verify links only); the new one wins.
    raw = env.get("TWONETS_PUBLIC_BASE_URL") or env.get("TWONETS_PUBLIC_URL") or DEFAULT_PUBLIC_BASE_URL
    return raw.strip().rstrip("/")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./twonets.db"
    # Duplicate linking: same minor category within this radius and window of an open order.
    duplicate_radius_m: float = 50.0
    duplicate_window_h: float = 24.0
    # Share of the time limit after which an order is flagged "warning".
    warning_share: float = 0.75
    tick_interval_s: float = 60.0
    serve_timer: bool = True  # `twonets serve` runs the deadline timer in each server process
    # The URL the outside world reaches this server at: every URL twonets issues (JWT issuer,
    # OIDC discovery, DID documents, credential status lists, JSON-LD context, verify links,
    # Open311 media URLs). `twonets serve` defaults it to the address it listens on.
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    log_level: str = "INFO"
    log_json: bool = True
    # Data foundation: the system's Ed25519 key (audit checkpoints, JWTs) lives under key_dir,
    # generated on first use. A jwt_secret switches tokens to HS256 with that shared secret.
    key_dir: str = "./var/keys"
    jwt_secret: str = ""
    jwt_issuer: str = DEFAULT_PUBLIC_BASE_URL  # the public base URL unless set
    jwt_audience: str = "twonets-api"
    access_token_ttl_s: float = 900.0
    refresh_token_ttl_s: float = 14 * 86400.0
    audit_checkpoint_every: int = 1000
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks); none by default.
    trusted_proxies: tuple[str, ...] = ()
    # A bearer token that may read /metrics (a Prometheus scraper); administrators may always.
    metrics_token: str = ""
    media_dir: str = "./var/media"  # stored photos, served at /media/{key}
    # Cross-region handling (跨省通办): this region's name and the file of trusted peer regions
    # (their URLs and Ed25519 public keys); `twonets serve --region NAME --peers FILE` sets both.
    region: str = ""
    peers_file: str = ""
    model_dir: str = "./var/models"  # trained AI models (`twonets ai train`), skops files
    extra: dict = field(default_factory=dict)


def load_settings() -> Settings:
    env = os.environ
    base_url = _base_url(env)
    return Settings(
        public_base_url=base_url,
        database_url=env.get("TWONETS_DATABASE_URL") or "sqlite:///./twonets.db",
        duplicate_radius_m=_float("TWONETS_DUPLICATE_RADIUS_M", 50.0),
        duplicate_window_h=_float("TWONETS_DUPLICATE_WINDOW_H", 24.0),
        warning_share=_float("TWONETS_WARNING_SHARE", 0.75),
        tick_interval_s=_float("TWONETS_TICK_INTERVAL_S", 60.0),
        serve_timer=env.get("TWONETS_SERVE_TIMER", "1") not in ("0", "false", "no"),
        log_level=env.get("TWONETS_LOG_LEVEL", "INFO"),
        log_json=env.get("TWONETS_LOG_JSON", "1") not in ("0", "false", "no"),
        key_dir=env.get("TWONETS_KEY_DIR") or "./var/keys",
        jwt_secret=env.get("TWONETS_JWT_SECRET", ""),
        jwt_issuer=env.get("TWONETS_JWT_ISSUER") or base_url,
        jwt_audience=env.get("TWONETS_JWT_AUDIENCE") or "twonets-api",
        access_token_ttl_s=_float("TWONETS_ACCESS_TOKEN_TTL_S", 900.0),
        refresh_token_ttl_s=_float("TWONETS_REFRESH_TOKEN_TTL_S", 14 * 86400.0),
        audit_checkpoint_every=int(_float("TWONETS_AUDIT_CHECKPOINT_EVERY", 1000)),
        trusted_proxies=_networks("TWONETS_TRUSTED_PROXIES"),
        metrics_token=env.get("TWONETS_METRICS_TOKEN", ""),
        media_dir=env.get("TWONETS_MEDIA_DIR") or "./var/media",
        region=env.get("TWONETS_REGION", ""),
        peers_file=env.get("TWONETS_PEERS_FILE", ""),
        model_dir=env.get("TWONETS_MODEL_DIR") or "./var/models",
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
