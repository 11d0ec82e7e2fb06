"""``coastcast validate CASE [--json]``: verification cases with their error norms."""

from __future__ import annotations

import inspect
import json
import sys


def register(subparsers):
    p = subparsers.add_parser(
        "validate",
        help="run a verification case and print its error norms",
        description="Run verification cases against analytic solutions; the exit status is 1 when a case misses its tolerance.",
    )
    p.add_argument("case", nargs="*", help="case name(s), or 'all'; see --list")
    p.add_argument("--list", action="store_true", help="list the cases")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    g = p.add_argument_group("real-data cases (jmj-tides, gironde, gauges)")
    g.add_argument("--days", type=float, help="simulated days to analyse (default: the case's own)")
    g.add_argument("--figures", metavar="DIR", help="draw the case's figures into DIR")
    g.add_argument("--checkpoint-dir", metavar="DIR", help="gironde: checkpoint into DIR and resume from it when it holds one")
    g.add_argument(
        "--stop-days",
        type=float,
        help="gironde: stop after this many simulated days (resume later with the same --checkpoint-dir)",
    )
    g.add_argument("--region", help="gauges: the gallery region to validate (default channel_biscay)")
    g.add_argument("--manning", type=float, help="gauges: Manning coefficient (default: the forecasts' 0.025)")
    g.add_argument("--atlas", metavar="FILE", help="global-atlas: the atlas to validate (default: the package's own)")
    g.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        dest="settings",
        help="gauges: set a configuration key (VALUE in TOML: a number, true/false, or a word), "
        "e.g. --set tides.kind=atlas --set tides.model=coastcast; repeatable",
    )
    p.set_defaults(func=run)


def _registry():
    from solver.verification import CASES

    extra = {}
    try:  # real-data validations live in workflows (they need forcing and meshes)
        from workflows.validation import CASES as DATA_CASES

        extra = DATA_CASES
    except ImportError:
        pass
    return CASES, extra


def run(args) -> int:
    from solver.verification import run_case

    cases, data_cases = _registry()
    if args.list or not args.case:
        for name, fn in {**cases, **data_cases}.items():
            print(f"{name:16s} {fn.description}")
        return 0 if args.list else 2
    names = list(cases) if args.case == ["all"] else args.case
    unknown = [n for n in names if n not in cases and n not in data_cases]
    if unknown:
        raise ValueError(f"unknown case {', '.join(unknown)}; known cases: {', '.join([*cases, *data_cases])}")
    options = {
        k: v
        for k, v in (
            ("days", args.days),
            ("figures_dir", args.figures),
            ("checkpoint_dir", args.checkpoint_dir),
            ("stop_days", args.stop_days),
            ("region", args.region),
            ("physics", {"manning": args.manning} if args.manning is not None else None),
            ("overrides", _settings(args.settings)),
            ("atlas_path", args.atlas),
        )
        if v is not None
    }
    for name in names:
        if options and name not in data_cases:
            raise ValueError(
                f"case {name} takes no options; --days/--figures/--checkpoint-dir/--stop-days/--region/--manning/--set/--atlas are for {', '.join(data_cases)}"
            )
        accepted = inspect.signature(data_cases[name]).parameters if name in data_cases else {}
        extra = sorted(set(options) - set(accepted))
        if extra:
            flags = ", ".join(
                "--"
                + {"figures_dir": "figures", "physics": "manning", "overrides": "set", "atlas_path": "atlas"}.get(k, k).replace(
                    "_", "-"
                )
                for k in extra
            )
            raise ValueError(f"case {name} does not take {flags}")
    results = []
    for name in names:
        res = run_case(name) if name in cases else data_cases[name](**options)
        results.append(res)
        if not args.json:
            print(res.format(), flush=True)
    if args.json:
        json.dump([r.to_dict() for r in results] if len(results) > 1 else results[0].to_dict(), sys.stdout, indent=2)
        print()
    return 0 if all(r.passed for r in results) else 1


def _settings(items) -> dict | None:
    """``["tides.model=coastcast", "physics.manning=0.03"]`` -> {"tides": {"model": "coastcast"}, ...}."""
    import tomllib

    if not items:
        return None
    out: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not section or not name:
            raise ValueError(f"--set {item!r}: write SECTION.KEY=VALUE, e.g. --set tides.model=coastcast")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()  # a bare word
        out.setdefault(section, {})[name] = value
    return out
