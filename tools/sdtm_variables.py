#!/usr/bin/env python3
"""The variable tables of docs/sdtm.md, generated from the SDTM mappers' own variable lists.

    python3 tools/sdtm_variables.py          # print the tables
    python3 tools/sdtm_variables.py --write  # replace them in docs/sdtm.md

Each exported variable with its SDTMIG 3.4 label, type and core, its define.xml origin, where
its values come from (the mapper's `Var.source`: the API field or the rule), its codelist and
its method. tests/unit/test_cdisc_docs.py fails when docs/sdtm.md differs from this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.interop.cdisc import (  # noqa: E402
    ae,
    cm,
    dm,
    ds,
    dv,
    ex,
    ie,
    lb,
    pr,
    qs,
    rs,
    sv,
    trial_design,
    ts,
)
from app.interop.cdisc import standard as ig  # noqa: E402
from app.interop.cdisc.common import Var  # noqa: E402
from app.interop.cdisc.datasets import SUPP_VARIABLES  # noqa: E402

DOCS = ROOT / "docs" / "sdtm.md"
START, END = "<!-- variables:start -->", "<!-- variables:end -->"
DATASETS: tuple[tuple[str, tuple[Var, ...]], ...] = (
    ("DM", dm.VARIABLES),
    ("DS", ds.VARIABLES),
    ("IE", ie.VARIABLES),
    ("EX", ex.VARIABLES),
    ("AE", ae.VARIABLES),
    ("LB", lb.VARIABLES),
    ("SV", sv.VARIABLES),
    ("QS", qs.VARIABLES),
    ("RS", rs.VARIABLES),
    ("DV", dv.VARIABLES),
    ("CM", cm.VARIABLES),
    ("PR", pr.VARIABLES),
    ("SUPPAE", SUPP_VARIABLES),
    ("TS", ts.VARIABLES),
    ("TA", trial_design.TA_VARIABLES),
    ("TE", trial_design.TE_VARIABLES),
    ("TV", trial_design.TV_VARIABLES),
    ("TI", trial_design.TI_VARIABLES),
)


def render() -> str:
    out = []
    for name, variables in DATASETS:
        meta = ig.dataset(name)
        title = (
            "SUPP-- (SUPPEX, SUPPAE, SUPPLB, SUPPQS, SUPPRS, SUPPDV)" if name == "SUPPAE" else name
        )
        out.append(f"### {title}: {meta.label if name != 'SUPPAE' else 'Supplemental Qualifiers'}")
        out.append("")
        out.append("| variable | label | type | core | origin | comes from | codelist | method |")
        out.append("|---|---|---|---|---|---|---|---|")
        for v in sorted(variables, key=lambda v: meta.variables[v.name].order):
            m = meta.variables[v.name]
            source = v.source.replace("|", "/")
            cells = [
                v.name,
                m.label,
                m.type,
                m.core,
                v.origin,
                source,
                v.codelist or "",
                v.method or "",
            ]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write() -> None:
    text = DOCS.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOCS.write_text(f"{head}{START}\n{render()}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(render(), end="")
