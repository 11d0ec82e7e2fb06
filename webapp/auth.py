"""Accounts: register, log in and out, and the administrator's approval of new users.

New users wait for approval (as on OPENCoastS). Administrators are made on the server, with
``coastcast serve --create-admin EMAIL``: registering never makes one (an address on a list could
be registered by whoever comes first; ``COASTCAST_ADMIN_EMAILS`` is no longer read). Passwords are
stored as salted hashes (werkzeug).

The session cookie (signed, HttpOnly, SameSite=Lax, Secure with ``COASTCAST_SECURE_COOKIES``)
holds the user id, the account's ``session_epoch`` at login and the login time; the user row is
loaded on each request and the session is refused when the epoch has moved on (logout, password
change: a copied cookie stops working) or the login is older than ``PERMANENT_SESSION_LIFETIME``
(``COASTCAST_SESSION_HOURS``, 12 h by default), however active the session was.

Logins are throttled per account and per address (``webapp.security``: failures in the
database, one-line refusal with status 429); an unknown account costs one password check like a
known one, and registering an e-mail that has an account answers as for a new one (nothing is
stored), so neither form tells whether an account exists.
"""

from __future__ import annotations

import functools
import logging
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for

from workflows.db import User, create_user, hash_password, normalise_email

from .extensions import get_session
from .forms import ActionForm, LoginForm, RegisterForm
from .security import client_address, dummy_password_check, forget_login_failures, login_refusal, record_login_failure

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def load_user() -> None:
    """Put the logged-in, approved user (or None) on ``g.user``; a session whose epoch is not the
    account's or whose login is older than the session lifetime is cleared."""
    g.user = None
    uid = session.get("uid")
    if uid is not None:
        user = get_session().get(User, uid)
        if user is not None and user.is_approved and _session_current(user):
            g.user = user
        else:
            session.clear()


def _session_current(user: User) -> bool:
    since = session.get("since")
    if session.get("epoch") != user.session_epoch or not isinstance(since, (int, float)):
        return False
    age = time.time() - since
    return 0 <= age <= current_app.permanent_session_lifetime.total_seconds()


def start_session(user: User) -> None:
    """Log ``user`` in on this browser: a new session cookie bound to the account's epoch."""
    session.clear()
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["since"] = round(time.time(), 3)
    session.permanent = True  # the cookie carries the lifetime; load_user enforces it from "since"


def end_sessions(user: User) -> None:
    """End every session of ``user`` (all browsers, copied cookies too); the caller commits."""
    user.session_epoch = (user.session_epoch or 0) + 1


def end_other_sessions(user: User) -> None:
    """End ``user``'s sessions on other browsers and keep this one (password change); the caller
    commits."""
    end_sessions(user)
    if session.get("uid") == user.id:
        session["epoch"] = user.session_epoch


def login_required(view):
    """Views for logged-in users; the API answers 401 JSON, pages redirect to the login form."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            if request.path.startswith("/api/"):
                return jsonify(error="login required", status=401), 401
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not g.user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@bp.route("/")
def home():
    if g.user is not None:
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        db = get_session()
        email = normalise_email(form.email.data)
        if db.query(User).filter_by(email=email).first() is not None:
            hash_password(form.password.data)  # the same work and the same answer as for a new account
            log.info("registration for an existing account %s: nothing stored", email)
        else:
            create_user(db, email, form.password.data)  # never an administrator: those are made on the server
            db.commit()
        flash("Thank you. An administrator will approve your account; you can log in once approved.", "ok")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        email, address = normalise_email(form.email.data), client_address()
        refusal = login_refusal(db, email, address)
        if refusal is not None:
            form.password.errors.append(refusal)
            return render_template("auth/login.html", form=form), 429
        user = db.query(User).filter_by(email=email).first()
        if user is None:
            dummy_password_check(form.password.data)
        if user is None or not user.check_password(form.password.data):
            record_login_failure(db, email, address)
            form.password.errors.append("Wrong e-mail or password.")
        elif not user.is_approved:
            form.email.errors.append("This account waits for an administrator's approval.")
        else:
            forget_login_failures(db, email)
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    ActionForm().validate_on_submit()  # CSRF checked by CSRFProtect for every POST
    if g.user is not None:
        end_sessions(g.user)  # the cookie, and any copy of it, is dead from now on
        get_session().commit()
    session.clear()
    flash("Logged out.", "ok")
    return redirect(url_for("auth.login"))


@bp.route("/admin/users")
@admin_required
def users():
    rows = get_session().query(User).order_by(User.is_approved, User.created).all()
    return render_template("auth/users.html", users=rows, form=ActionForm())


@bp.route("/admin/users/<int:user_id>/<any(approve, revoke):action>", methods=["POST"])
@admin_required
def set_approval(user_id: int, action: str):
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == g.user.id:
        flash("You cannot change your own approval.", "error")
    else:
        user.is_approved = action == "approve"
        if not user.is_approved:
            end_sessions(user)  # approved again later, the old cookies stay dead
        db.commit()
        flash(f"{user.email} {'approved' if user.is_approved else 'revoked'}.", "ok")
    return redirect(url_for("auth.users"))
