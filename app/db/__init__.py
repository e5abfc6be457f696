"""Persistence: SQLAlchemy models, engine and sessions, repositories, migrations."""
