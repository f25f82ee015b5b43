"""Alembic migrations, shipped inside the package so `cms migrate` works after install."""
