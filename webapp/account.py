"""The account pages: password change, and the JSON API's documentation with personal API tokens.

``/account``: change the password (the current one, the new one twice, the registration's rules).
Wrong current passwords count as failed logins (``webapp.security``), so a stolen session cannot
guess the password faster than the login form allows. A password change ends the account's
sessions in other browsers (``webapp.auth.end_other_sessions``) and keeps this one.

``/account/api``: every endpoint of the API blueprint with an example request and answer (from
``webapp.api.DOCS``), and the user's tokens: create one (shown once, only its hash is stored),
revoke one. ``Authorization: Bearer <token>`` then authenticates API requests as that user.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from workflows.db import ApiToken

from .auth import end_other_sessions, login_required
from .extensions import get_session
from .forms import ActionForm, ApiTokenForm, PasswordChangeForm
from .security import client_address, forget_login_failures, login_refusal, record_login_failure
from .tokens import TokenError, create_token, revoke

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        user = g.user
        address = client_address()
        refusal = login_refusal(db, user.email, address)
        if refusal is not None:
            form.current.errors.append(refusal)
            status = 429
        elif not user.check_password(form.current.data):
            record_login_failure(db, user.email, address)
            form.current.errors.append("That is not your current password.")
        elif form.password.data == form.current.data:
            form.password.errors.append("The new password is the current one; choose another.")
        else:
            user.set_password(form.password.data)
            end_other_sessions(user)  # other browsers (and copied cookies) are logged out; this one goes on
            db.commit()
            forget_login_failures(db, user.email)
            log.info("password changed for %s", user.email)
            flash("Your password is changed. You are logged out everywhere else.", "ok")
            return redirect(url_for("account.index"))
    return render_template("account/index.html", form=form), status


def _api_page(token_form=None, new_token=None, new_row=None, status=200):
    tokens = get_session().query(ApiToken).filter_by(user_id=g.user.id).order_by(ApiToken.id.desc()).all()
    from .api import endpoint_docs

    return (
        render_template(
            "account/api.html",
            endpoints=endpoint_docs(current_app),
            tokens=tokens,
            token_form=token_form or ApiTokenForm(formdata=None),
            action_form=ActionForm(),
            new_token=new_token,
            new_row=new_row,
            base_url=request.host_url.rstrip("/"),
        ),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.route("/api")
@login_required
def api_docs():
    return _api_page()


@bp.route("/api/tokens", methods=["POST"])
@login_required
def create():
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _api_page(form, status=400)
    db = get_session()
    try:
        row, token = create_token(db, g.user, form.name.data)
    except TokenError as exc:
        form.name.errors.append(str(exc))
        return _api_page(form, status=400)
    db.commit()
    log.info("API token %s (%r) created for %s", row.prefix, row.name, g.user.email)
    # shown once, in this answer only (never stored, never put in the session or a redirect)
    return _api_page(new_token=token, new_row=row, status=201)


@bp.route("/api/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    ActionForm().validate_on_submit()  # CSRF checked by CSRFProtect for every POST
    db = get_session()
    row = revoke(db, g.user, token_id)
    if row is None:
        abort(404)
    db.commit()
    flash(f"Token {row.name!r} ({row.prefix}…) revoked: requests with it are refused from now on.", "ok")
    return redirect(url_for("account.api_docs"))
