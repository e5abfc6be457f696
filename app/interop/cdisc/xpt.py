"""SAS XPT version 5 files, written with pyreadstat (1.3.x; it needs a pandas DataFrame).

pyreadstat writes XPT v8 unless told `file_format_version=5`; it upper-cases nothing, cuts
labels over 40 characters silently and writes values over 200 bytes and UTF-8 without a word:
`datasets.finish` has checked all of that before a file is written. Character columns are
written as text ("" for an empty value), numeric ones as doubles (NaN is SAS missing). The
width of a character variable is the longest value (at least 1), which is what the FDA Study
Data Technical Conformance Guide asks for; `widths` gives the same numbers for define.xml.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from app.interop.cdisc.datasets import Dataset


def to_xpt(dataset: Dataset) -> bytes:
    import pandas as pd  # heavy imports only where a file is written
    import pyreadstat

    columns = {}
    for i, c in enumerate(dataset.columns):
        values = [row[i] for row in dataset.rows]
        if c.type == "Num":
            columns[c.var.name] = pd.Series(
                [math.nan if v is None else float(v) for v in values], dtype="float64"
            )
        else:
            columns[c.var.name] = pd.Series(
                ["" if v is None else str(v) for v in values], dtype=object
            )
    frame = pd.DataFrame(columns, columns=list(dataset.names))
    with tempfile.TemporaryDirectory(prefix="sdtm-") as folder:
        path = Path(folder) / dataset.filename
        pyreadstat.write_xport(
            frame,
            str(path),
            file_label=dataset.label,
            column_labels={c.var.name: c.label for c in dataset.columns},
            table_name=dataset.name,
            file_format_version=5,
        )
        return path.read_bytes()


def widths(dataset: Dataset) -> dict[str, int]:
    """Each variable's length as define.xml states it: the longest value of a character
    variable (1 when all are empty), 8 for a numeric variable (an 8-byte double)."""
    found = {}
    for i, c in enumerate(dataset.columns):
        if c.type == "Num":
            found[c.var.name] = 8
        else:
            found[c.var.name] = max([len(str(row[i])) for row in dataset.rows if row[i]] or [1])
    return found
