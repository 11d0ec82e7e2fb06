"""``coastcast serve`` start-up marks orphaned running cycles interrupted, but not live pipeline ones."""

from datetime import timedelta

from webapp.runner import mark_interrupted
from workflows.db import Cycle, CycleLease, ForecastSystem, create_user, init_db, make_engine, make_session_factory, utcnow


def test_only_cycles_without_a_fresh_lease_are_interrupted(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    factory = make_session_factory(engine)
    with factory() as s:
        user = create_user(s, "a@example.org", "pw-123456789", is_approved=True)
        s.flush()
        system = ForecastSystem(owner_id=user.id, name="s", status="active")
        s.add(system)
        s.flush()
        live = Cycle(system_id=system.id, cycle_time=utcnow(), status="running")
        stale = Cycle(system_id=system.id, cycle_time=utcnow() - timedelta(days=1), status="running")
        orphan = Cycle(system_id=system.id, cycle_time=utcnow() - timedelta(days=2), status="running")
        s.add_all([live, stale, orphan])
        s.flush()
        s.add_all(
            [
                CycleLease(cycle_id=live.id, owner="host:1:abc", heartbeat=utcnow()),
                CycleLease(cycle_id=stale.id, owner="host:2:def", heartbeat=utcnow() - timedelta(hours=1)),
            ]
        )
        s.commit()
        ids = (live.id, stale.id, orphan.id)
    assert mark_interrupted(factory) == 2
    with factory() as s:
        assert [s.get(Cycle, i).status for i in ids] == ["running", "interrupted", "interrupted"]
