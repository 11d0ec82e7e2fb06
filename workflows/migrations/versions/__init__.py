"""Revisions of the coastcast schema (one file each; Alembic skips this file)."""
