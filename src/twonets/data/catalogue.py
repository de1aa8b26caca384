"""The public-data catalogue: every dataset in the system, its schema and sensitivity,
freshness, sharing class and open-data flag; search, DCAT-AP export, open-data rows.

The public face of the catalogue: entries and search (`datasets`), their records (`records`),
the definitions file (`catalogue_file`) and open data with the DCAT-AP export (`opendata`) live
in modules of their own and are re-exported here, where callers import them from.
"""

from __future__ import annotations

from twonets.data.catalogue_file import (  # noqa: F401  (part of the catalogue API)
    DEFINITIONS,
    CatalogueFile,
    DefinitionError,
    read_definitions,
    sync_definitions,
)
from twonets.data.datasets import (  # noqa: F401  (part of the catalogue API)
    STAFF_ROLES,
    can_manage,
    can_write_records,
    create,
    dataset_from_row,
    get,
    is_staff,
    load,
    mark_updated,
    search,
    update_entry,
)
from twonets.data.opendata import (  # noqa: F401  (part of the catalogue API)
    ACCESS,
    ACCESS_URI,
    DCAT_CONTEXT,
    FREQ,
    FREQ_URI,
    dcat,
    dumps,
    open_columns,
    open_rows,
    parquet_bytes,
)
from twonets.data.records import RecordIn, count_records, subjects_page, upsert_records  # noqa: F401  (part of the catalogue API)
