"""Who may see what: allocation details and account rows, everywhere in the API.

Allocation concealment: only statistician/admin read allocation lists and slots (their
audit rows too), and site-bound roles never see an allocation's sequence number, which
would tell them where in the list (and in its blocks) the site stands.
"""

from __future__ import annotations

from app.auth import ADMIN, ALLOCATION_ADMINS, Principal

ALLOCATION_TABLES = frozenset({"allocation_lists", "allocation_slots"})
ACCOUNT_TABLES = frozenset({"users", "api_tokens"})  # admin only: who has access, and how


def hidden_audit_tables(principal: Principal) -> frozenset[str]:
    hidden: frozenset[str] = frozenset()
    if principal.role not in ALLOCATION_ADMINS:
        hidden |= ALLOCATION_TABLES
    if principal.role not in ADMIN:
        hidden |= ACCOUNT_TABLES
    return hidden


def sees_sequence_numbers(principal: Principal) -> bool:
    return not principal.site_bound
