"""Imports every package's tables so the one MetaData knows the whole schema (Alembic, tests)."""

import twonets.ai.tables  # noqa: F401
import twonets.city.sensing.tables  # noqa: F401
import twonets.city.tables  # noqa: F401
import twonets.data.peer_tables  # noqa: F401
import twonets.data.tables  # noqa: F401
import twonets.govservices.benefit_tables  # noqa: F401
import twonets.govservices.crossregion_tables  # noqa: F401
import twonets.govservices.tables  # noqa: F401
from twonets.core.tables import metadata  # noqa: F401
