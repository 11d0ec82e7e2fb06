"""Analytic verification catalogue (DESIGN §10), each case against its independent reference.

The measured norms are printed (``pytest -s``) and asserted through each case's tolerances;
``coastcast validate CASE`` runs the same functions at the same resolutions.
"""

import pytest

from solver.reconstruction import LIMITERS
from solver.riemann import RIEMANN_SOLVERS
from solver.timestepping import TIME_STEPPERS
from solver.verification import CASES, run_case

SCHEMES = [(r, lim) for r in sorted(RIEMANN_SOLVERS) for lim in [None, *sorted(LIMITERS)]]
STEPPERS = sorted(name for name, cls in TIME_STEPPERS.items() if cls.order >= 2)
"""The second-order time integrators (local time stepping included): each passes the catalogue."""


def check(result):
    print("\n" + result.format())
    failed = {k: (m.value, m.bound) for k, m in result.metrics.items() if not m.passed}
    assert not failed, f"{result.name}: {failed}"


@pytest.mark.parametrize("riemann_solver, limiter", SCHEMES)
@pytest.mark.parametrize("geographic", [False, True])
def test_lake_at_rest(riemann_solver, limiter, geographic):
    check(run_case("lake-at-rest", riemann_solver=riemann_solver, limiter=limiter, geographic=geographic))


@pytest.mark.parametrize("time_stepper", STEPPERS)
@pytest.mark.parametrize("geographic", [False, True])
def test_lake_at_rest_with_each_time_stepper(time_stepper, geographic):
    check(run_case("lake-at-rest", time_stepper=time_stepper, geographic=geographic))


@pytest.mark.parametrize("riemann_solver, limiter", SCHEMES)
def test_conservation(riemann_solver, limiter):
    check(run_case("conservation", riemann_solver=riemann_solver, limiter=limiter))


@pytest.mark.parametrize("time_stepper", STEPPERS)
def test_conservation_with_each_time_stepper(time_stepper):
    check(run_case("conservation", time_stepper=time_stepper))


@pytest.mark.parametrize("riemann_solver", sorted(RIEMANN_SOLVERS))
@pytest.mark.parametrize("name", ["dam-break-dry", "dam-break-wet"])
def test_dam_breaks(name, riemann_solver):
    check(run_case(name, riemann_solver=riemann_solver))


@pytest.mark.parametrize("time_stepper", STEPPERS)
@pytest.mark.parametrize("name", ["dam-break-dry", "dam-break-wet"])
def test_dam_breaks_with_each_time_stepper(name, time_stepper):
    check(run_case(name, time_stepper=time_stepper))


@pytest.mark.parametrize("time_stepper", STEPPERS)
def test_thacker(time_stepper):
    check(run_case("thacker", n=32, time_stepper=time_stepper))


@pytest.mark.parametrize("time_stepper", STEPPERS)
@pytest.mark.parametrize("name", ["seiche", "tidal-channel", "wind-setup", "kelvin", "inertial", "convergence"])
def test_smooth_cases(name, time_stepper):
    check(run_case(name, time_stepper=time_stepper))


@pytest.mark.parametrize(
    "riemann_solver",
    [
        "hll",
        pytest.param(
            "hllc",
            marks=[
                pytest.mark.slow,
                pytest.mark.xfail(
                    strict=True, reason="HLLC lets grid-scale motion over a steep slope grow (docs/verification.md)"
                ),
            ],
        ),
    ],
)
def test_steep_slope_energy_never_grows(riemann_solver):
    # HLLC's energy starts to grow after about a day; HLL's is checked over 12 h by default
    hours = 12.0 if riemann_solver == "hll" else 36.0
    check(run_case("steep-slope", riemann_solver=riemann_solver, hours=hours))


@pytest.mark.parametrize("time_stepper", ["lts-rk2", "lts-muscl-hancock"])
def test_steep_slope_energy_never_grows_with_local_time_steps(time_stepper):
    """The slope puts faces on several step levels; the level interfaces must not feed energy in
    (over 12 h: ``lts-rk2`` 0, ``lts-muscl-hancock`` 3.5e-4 of the running minimum, under the
    case's 1e-3; docs/verification.md gives the longer runs)."""
    res = run_case("steep-slope", time_stepper=time_stepper, hours=12.0)
    check(res)
    assert sum(n > 0 for n in res.info["faces_per_level"]) >= 3, res.info["faces_per_level"]


def test_every_case_is_tested():
    tested = {
        "steep-slope",
        "lake-at-rest",
        "conservation",
        "dam-break-dry",
        "dam-break-wet",
        "thacker",
        "seiche",
        "tidal-channel",
        "wind-setup",
        "kelvin",
        "inertial",
        "convergence",
    }
    assert tested == set(CASES)
