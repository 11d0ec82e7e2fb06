"""The web app's forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PASSWORD_MIN = 8
PASSWORD_MAX = 200


def _new_password(label: str = "Password") -> PasswordField:
    """A password field with the rules of registration (8 to 200 characters)."""
    return PasswordField(
        label,
        validators=[
            InputRequired("Choose a password."),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=f"Use at least {PASSWORD_MIN} characters."),
        ],
    )


class ActionForm(FlaskForm):
    """An empty form for POST buttons (approve, run now, pause, delete): only the CSRF token."""


class RegisterForm(FlaskForm):
    email = StringField(
        "E-mail",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            InputRequired("Enter your e-mail address."),
            Length(max=254),
            Regexp(EMAIL_RE, message="Enter an e-mail address such as name@example.org."),
        ],
    )
    password = _new_password()
    confirm = PasswordField(
        "Repeat password",
        validators=[InputRequired("Repeat the password."), EqualTo("password", message="The passwords differ.")],
    )
    submit = SubmitField("Register")


class LoginForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter your e-mail address.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])
    submit = SubmitField("Log in")


class RegionForm(FlaskForm):
    name = StringField("System name", validators=[InputRequired("Give the system a name."), Length(max=120)])
    kind = RadioField(
        "Region",
        choices=[("box", "Draw a box (a mesh is generated)"), ("upload", "Upload a mesh"), ("gallery", "Pick a gallery mesh")],
        default="box",
        validators=[InputRequired("Choose how to define the region.")],
    )
    west = FloatField("West (°E)", validators=[Optional()])
    south = FloatField("South (°N)", validators=[Optional()])
    east = FloatField("East (°E)", validators=[Optional()])
    north = FloatField("North (°N)", validators=[Optional()])
    detail = SelectField(
        "Mesh detail",
        choices=[
            ("standard", "standard: triangles of about the box diagonal / 60 (finer at the coast)"),
            ("coarse", "coarse: three times larger triangles (several times fewer); quick trial runs"),
        ],
        default="standard",
    )
    mesh_file = FileField("Mesh file (gr3, fort.14, gmsh .msh, UGRID NetCDF; gzip allowed)")
    gallery = SelectField("Gallery mesh", choices=[], validate_choice=False)
    submit = SubmitField("Next")


class AcceptMeshForm(FlaskForm):
    accept = SubmitField("Accept this mesh")


TIDE_SOURCES = [
    ("auto", "Best for this region (chosen below)"),
    ("coastcast", "coastcast global atlas (ships with coastcast; any North Atlantic coast)"),
    ("jmj", "JMJ Channel/Biscay atlas (ships with coastcast)"),
    ("fes2022", "FES2022 atlas (data directory)"),
    ("tpxo9", "TPXO9 atlas (data directory)"),
    ("none", "No tide"),
]
ATMOSPHERE_SOURCES = [("none", "None"), ("gfs", "GFS 0.25° (wind and pressure)")]


class ForcingsForm(FlaskForm):
    tide_source = SelectField("Tide source", choices=TIDE_SOURCES, default="auto")
    atmosphere = SelectField("Atmosphere", choices=ATMOSPHERE_SOURCES, default="none")
    submit = SubmitField("Next")


class ParametersForm(FlaskForm):
    horizon_hours = IntegerField(
        "Forecast horizon (hours)",
        default=72,
        validators=[InputRequired("Give the horizon in hours."), NumberRange(1, 72, "The horizon is 1 to 72 hours.")],
    )
    run_hour_utc = IntegerField(
        "Daily run hour (UTC)",
        default=0,
        validators=[InputRequired("Give the hour of the daily run."), NumberRange(0, 23, "The run hour is 0 to 23 (UTC).")],
    )
    manning = FloatField(
        "Manning friction n (s m⁻¹ᐟ³)",
        default=0.025,
        validators=[InputRequired("Give the Manning coefficient."), NumberRange(0.005, 0.2, "Manning's n is 0.005 to 0.2.")],
    )
    output_interval_minutes = IntegerField(
        "Output interval (minutes)",
        default=60,
        validators=[InputRequired("Give the output interval."), NumberRange(5, 360, "The output interval is 5 to 360 minutes.")],
    )
    spinup_hours = FloatField(
        "Spin-up of a cold start (hours)",
        default=24.0,
        validators=[Optional(), NumberRange(0.25, 240, "The spin-up is 0.25 to 240 hours.")],
    )  # left out: kept as it was
    submit = SubmitField("Next")

    def validate_output_interval_minutes(self, field):
        if self.horizon_hours.errors:
            return
        if field.data is not None and self.horizon_hours.data is not None and field.data > self.horizon_hours.data * 60:
            raise ValidationError("The output interval is longer than the forecast.")


class EditSystemForm(ParametersForm, ForcingsForm):
    """A created system's settings, changed after creation: the wizard's parameters and forcings
    forms (their fields and checks) with the name, the stations and a note on the change. The
    open boundaries' rivers are read as in the forcings step (``boundary-<i>-role|discharge``)."""

    name = StringField(
        "System name",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[DataRequired("Give the system a name."), Length(max=120)],
    )
    stations = TextAreaField("Stations (one per line: name, lon, lat)", validators=[Optional(), Length(max=200_000)])
    note = StringField("What changed, and why (optional)", validators=[Optional(), Length(max=200)])
    submit = SubmitField("Save as a new version")


class StationsForm(FlaskForm):
    stations = TextAreaField("Stations (one per line: name, lon, lat)", validators=[Optional(), Length(max=200_000)])
    csv_file = FileField("…or upload a CSV (name,lon,lat)")
    submit = SubmitField("Next")


class ThresholdsForm(FlaskForm):
    """The CSRF token and submit button of the thresholds step; its rows are read as
    ``threshold-<i>-station|name|level|datum`` (any number of rows, added in the page)."""

    submit = SubmitField("Next")


class ReviewForm(FlaskForm):
    confirm = BooleanField("I have checked the settings")
    submit = SubmitField("Create forecast system")


class PasswordChangeForm(FlaskForm):
    """The account page's password change: the current password, the new one twice (the
    registration's rules)."""

    current = PasswordField("Current password", validators=[InputRequired("Enter your current password.")])
    password = _new_password("New password")
    confirm = PasswordField(
        "Repeat the new password",
        validators=[InputRequired("Repeat the new password."), EqualTo("password", message="The passwords differ.")],
    )
    submit = SubmitField("Change password")


class ApiTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        filters=[lambda v: " ".join(v.split()) if isinstance(v, str) else v],
        validators=[
            InputRequired("Name the token, e.g. the script that uses it."),
            Length(max=80, message="Use at most 80 characters."),
        ],
    )
    submit = SubmitField("Create token")
