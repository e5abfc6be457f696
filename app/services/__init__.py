"""Use cases: each takes the session and the caller, applies the domain, persists."""
