"""ACLF exosome trial service."""
