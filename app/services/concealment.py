"""Allocation concealment: who may see allocation-list rows, anywhere."""

from __future__ import annotations

from app.auth import ALLOCATION_ADMINS, Principal

ALLOCATION_TABLES = frozenset({"allocation_lists", "allocation_slots"})


def hidden_audit_tables(principal: Principal) -> frozenset[str]:
    return frozenset() if principal.role in ALLOCATION_ADMINS else ALLOCATION_TABLES
