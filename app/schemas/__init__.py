"""Pydantic request/response models (never the table models)."""
