"""CDISC exports (SPEC §11): pure mappers from the service's records to SDTM and ODM.

`records` holds the read models the export service fills; one module per SDTM domain maps them
to rows (`dm`, `ds`, `ie`, `ex`, `ae`, `lb`, `sv`, `qs`, `rs`, `dv`, `cm`, `pr`, `ts`,
`trial_design`); `datasets` finishes them (SDTMIG order, labels, SUPP--, checks), `xpt` writes
SAS XPT v5, `define` builds define.xml, `conformance` runs the offline checks, `sdtm` packages
the zip, `odm` builds the ODM 1.3.2 archive. No database and no FastAPI here.
"""
