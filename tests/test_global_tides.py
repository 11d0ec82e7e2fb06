"""coastcast's global tide model: the streaming harmonic analysis, the atlas round trip, and a
short run of the real global mesh with every term on."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from solver.builders import icosphere
from workflows.forcing.tide_atlases import open_atlas
from workflows.forcing.tides import AstronomicalArguments, HarmonicSeries
from workflows.global_tides import (
    ATLAS_CONSTITUENTS,
    FORCED,
    GlobalTideResult,
    GlobalTideSetup,
    HarmonicAnalysis,
    build_model,
    inference_ratios,
    load_global_mesh,
    write_atlas,
)

START = datetime(2022, 1, 1, tzinfo=timezone.utc)


def test_streaming_analysis_recovers_constants_and_the_inferred_pairs():
    """30 days sampled every 30 min of a tide built with pyTMD's prediction from known
    constants (K2 and P1 in their equilibrium ratio to S2 and K1, as the analysis assumes): the
    streaming least squares returns every amplitude and phase lag."""
    days = 30.0
    args = AstronomicalArguments.for_run(ATLAS_CONSTITUENTS, START, timedelta(days=days))
    rng = np.random.default_rng(1)
    n = 5
    amp = rng.uniform(0.05, 1.5, (len(ATLAS_CONSTITUENTS), n))
    pha = rng.uniform(0, 360, (len(ATLAS_CONSTITUENTS), n))
    ratios = inference_ratios()
    for j, (k, r) in ratios.items():
        amp[ATLAS_CONSTITUENTS.index(j)] = r * amp[ATLAS_CONSTITUENTS.index(k)]
        pha[ATLAS_CONSTITUENTS.index(j)] = pha[ATLAS_CONSTITUENTS.index(k)]
    series = HarmonicSeries.build(args, amp, pha)
    ha = HarmonicAnalysis(args, ratios, n)
    for t in np.arange(0.0, days * 86400.0 + 1, 1800.0):
        ha.add(t, series(t) + 0.3)  # with a mean level
    mean, z = ha.solve()
    np.testing.assert_allclose(mean, 0.3, atol=1e-9)
    np.testing.assert_allclose(np.abs(z), amp, rtol=1e-8)
    dphi = (np.mod(-np.degrees(np.angle(z)), 360.0) - pha + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(dphi, 0.0, atol=1e-6)
    assert ratios["K2"][1] == pytest.approx(0.030704 / 0.112841, rel=1e-6)
    assert ratios["P1"][1] == pytest.approx(0.046843 * 0.706 / (0.141565 * 0.736), rel=1e-6)


def test_atlas_round_trip_through_the_triangle_reader(tmp_path):
    """Constants written at the nodes come back from the atlas reader at those nodes (float32)."""
    mesh = icosphere(2, depth=4000.0)
    rng = np.random.default_rng(2)
    shape = (len(ATLAS_CONSTITUENTS), mesh.n_node)
    z = [rng.uniform(0.01, 2.0, shape) * np.exp(-1j * rng.uniform(0, 2 * np.pi, shape)) for _ in range(3)]
    result = GlobalTideResult(mesh, ATLAS_CONSTITUENTS, z[0], z[1], z[2], GlobalTideSetup(), 0.0, 0, 0.0)
    path = write_atlas(result, tmp_path / "atlas.nc", bbox=(-60.0, -50.0, 60.0, 50.0))
    atlas = open_atlas("coastcast", path)
    assert atlas.constituents == ATLAS_CONSTITUENTS
    inside = (np.abs(mesh.node_x) < 55) & (np.abs(mesh.node_y) < 45)
    got = atlas.interpolate(mesh.node_x[inside], mesh.node_y[inside])
    for k, c in enumerate(ATLAS_CONSTITUENTS):
        np.testing.assert_allclose(got.amplitude[k], np.abs(z[0][k, inside]), atol=1e-4)
        d = (got.phase[k] - np.mod(-np.degrees(np.angle(z[0][k, inside])), 360) + 180) % 360 - 180
        np.testing.assert_allclose(d, 0.0, atol=0.01)
        np.testing.assert_allclose(got.u_amplitude[k], np.abs(z[1][k, inside]), atol=1e-4)
    assert "coastcast atlas" in got.source


def test_short_global_run_stays_bounded_and_conserves_volume():
    """Six hours of the real global mesh (27,330 nodes) from rest with the ramped potential, SAL,
    friction and internal-tide drag: finite, the surface within the equilibrium tide's reach
    (|η| < 0.5 m this early), the volume of the closed ocean unchanged to round-off."""
    from solver.simulation import Simulation

    setup = GlobalTideSetup(days=0.25, spinup_days=0.0)
    mesh, attrs = load_global_mesh()
    assert mesh.is_sphere and mesh.n_face == 50859
    args = AstronomicalArguments.for_run(FORCED, setup.start, timedelta(days=setup.days))
    model = build_model(mesh, attrs, args, setup)
    state = model.initial_state(0.0)
    v0 = model.volume(state)
    Simulation(model, state, stop_time=6 * 3600.0, cfl=setup.cfl).run()
    eta = model.eta(state)
    assert np.isfinite(eta).all()
    assert 1e-4 < np.abs(eta).max() < 0.5
    assert model.volume(state) == pytest.approx(v0, rel=1e-12)
