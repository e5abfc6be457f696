"""Pure adapters to external standards (UCUM; later FHIR and CDISC): no database, no HTTP."""
