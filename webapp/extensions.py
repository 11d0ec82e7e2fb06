"""What the blueprints share with the app factory: the CSRF extension and the request's database
session. A module of its own so that blueprints never import the package that registers them."""

from __future__ import annotations

from flask import current_app, g
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def get_session():
    """The request's database session (closed when the request ends, :func:`close_session`)."""
    if "db" not in g:
        g.db = current_app.extensions["coastcast_sessions"]()
    return g.db


def close_session(exc):
    """Teardown: roll back on an error, then close the request's session."""
    session = g.pop("db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
