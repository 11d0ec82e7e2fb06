"""Riemann solvers: consistency with the physical flux, dry states, and their registry."""

import numpy as np
import pytest

from solver.riemann import RIEMANN_SOLVERS

G = 9.81


@pytest.mark.parametrize("name", sorted(RIEMANN_SOLVERS))
def test_equal_states_give_the_physical_flux(name):
    rng = np.random.default_rng(1)
    h = rng.uniform(0.1, 10.0, 50)
    un = rng.uniform(-3.0, 3.0, 50)
    ut = rng.uniform(-3.0, 3.0, 50)
    mass, dev, tang = RIEMANN_SOLVERS[name](h, h, un, un, ut, ut, G)
    np.testing.assert_allclose(mass, h * un, rtol=1e-13, atol=1e-13)
    # deviation form: normal momentum flux minus the left pressure g h^2/2
    np.testing.assert_allclose(dev, h * un * un, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tang, h * un * ut, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(RIEMANN_SOLVERS))
def test_lake_at_rest_flux_is_exactly_zero(name):
    h = np.array([1e-3, 1.0, 4000.0])
    z = np.zeros(3)
    mass, dev, tang = RIEMANN_SOLVERS[name](h, h, z, z, z, z, G)
    assert not mass.any() and not dev.any() and not tang.any()


@pytest.mark.parametrize("name", sorted(RIEMANN_SOLVERS))
def test_dry_states(name):
    z = np.zeros(2)
    mass, dev, tang = RIEMANN_SOLVERS[name](z, z, z, z, z, z, G)
    assert not np.any(mass) and not np.any(dev)
    # water at rest next to a dry bed flows out at the Ritter front speed bound 2c
    hl = np.array([1.0])
    m, _, _ = RIEMANN_SOLVERS[name](hl, np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), G)
    assert 0.0 < m[0] <= hl[0] * np.sqrt(G * hl[0])


@pytest.mark.parametrize("name", sorted(RIEMANN_SOLVERS))
def test_mirror_symmetry(name):
    """Swapping the sides and reversing the normal reverses the mass flux."""
    rng = np.random.default_rng(2)
    hl, hr = rng.uniform(0.1, 5, 20), rng.uniform(0.1, 5, 20)
    ul, ur = rng.uniform(-2, 2, 20), rng.uniform(-2, 2, 20)
    z = np.zeros(20)
    m1, d1, _ = RIEMANN_SOLVERS[name](hl, hr, ul, ur, z, z, G)
    m2, d2, _ = RIEMANN_SOLVERS[name](hr, hl, -ur, -ul, z, z, G)
    np.testing.assert_allclose(m1, -m2, rtol=1e-12, atol=1e-14)
    # momentum flux F_n is the same seen from both sides: dev1 + pL = dev2 + pR
    np.testing.assert_allclose(d1 + 0.5 * G * hl**2, d2 + 0.5 * G * hr**2, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(RIEMANN_SOLVERS))
def test_dry_edges_with_subnormal_velocities_give_zero_not_nan(name):
    z = np.zeros(3)
    tiny = np.array([1e-310, -3e-320, 5e-324])
    with np.errstate(all="ignore"):
        mass, dev, tang = RIEMANN_SOLVERS[name](z, z, tiny, -tiny, tiny, tiny, G)
    assert np.all(mass == 0.0) and np.all(dev == 0.0) and np.all(tang == 0.0)
