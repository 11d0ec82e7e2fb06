"""``coastcast mesh check | convert | generate``: pre-flight check, format conversion, box meshing.

Exit status 0 when the mesh is usable (check), written (convert, generate); 1 when a check
refuses the mesh (the report is printed, then one line with the reason on stderr); 2 for bad
input (one line on stderr, printed by ``workflows.cli``).
"""

from __future__ import annotations

import json
import logging
import sys
import time

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("mesh", help="check, convert or generate meshes", description=__doc__)
    sub = p.add_subparsers(dest="mesh_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    c = sub.add_parser("check", help="pre-flight check of a mesh file (gr3/fort.14, gmsh .msh, UGRID .nc)")
    c.add_argument("file", help="mesh file")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--crs", help="CRS of the coordinates (EPSG:nnnn, or 'cartesian'); default: declared or lon/lat")
    c.add_argument("--cfl", type=float, default=0.9, help="CFL number of the time-step estimate (default 0.9)")
    c.add_argument("--hours", type=float, default=72.0, help="simulated hours of the run-time estimate (default 72)")
    c.add_argument(
        "--throughput",
        type=float,
        default=None,
        help="solver face-updates per second on one core under local time steps (default: solver.quality.THROUGHPUT, measured)",
    )
    c.set_defaults(func=_check)

    v = sub.add_parser("convert", help="convert between mesh formats (write .nc UGRID or .gr3[.gz]/fort.14)")
    v.add_argument("input", help="mesh file to read")
    v.add_argument("output", help="file to write; format from the extension")
    v.add_argument("--crs", help="CRS of the input coordinates (EPSG:nnnn, or 'cartesian')")
    v.set_defaults(func=_convert)

    g = sub.add_parser(
        "generate", help="mesh the water inside a lon/lat box on the North Atlantic coasts (lon -100..40, lat 0..80)"
    )
    g.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"), required=True, help="box in degrees")
    g.add_argument("--out", required=True, help="output mesh file (.nc, .gr3, .gr3.gz)")
    g.add_argument("--resolution", type=float, help="largest element size in m (default: box diagonal / 60)")
    g.add_argument("--min-size", type=float, help="smallest element size in m, at the coast (default: resolution / 5)")
    g.add_argument("--bathymetry", help="GEBCO/EMODnet-style NetCDF (lon, lat, elevation or depth)")
    g.add_argument("--min-angle", type=float, default=25.0, help="minimum triangle angle in degrees (default 25)")
    g.set_defaults(func=_generate)


def _check(args) -> int:
    from solver.formats import read_mesh_verbose
    from solver.quality import THROUGHPUT, check_mesh

    res = read_mesh_verbose(args.file, crs=args.crs)
    speed = THROUGHPUT if args.throughput is None else args.throughput
    report = check_mesh(res.mesh, cfl=args.cfl, hours=args.hours, throughput=speed, notes=res.notes)
    if args.json:
        d = report.to_dict()
        d["file"] = str(args.file)
        d["format"] = res.format
        print(json.dumps(d, indent=2))
    else:
        print(f"{args.file} ({res.format})")
        print(report.format())
    if not report.ok:
        extra = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        print(f"coastcast mesh check: refused: {report.problems[0]}{extra}", file=sys.stderr)
        return 1
    return 0


def _convert(args) -> int:
    from solver.formats import read_mesh_verbose, write_mesh

    res = read_mesh_verbose(args.input, crs=args.crs)
    out = write_mesh(res.mesh, args.output)
    m = res.mesh
    print(
        f"{args.input} ({res.format}) -> {out}: {m.n_node} nodes, {m.n_face} faces, {len(m.boundaries)} boundary segments, crs {m.crs}"
    )
    return 0


def _generate(args) -> int:
    from solver.formats import write_mesh
    from solver.quality import check_mesh
    from workflows.meshgen import MeshgenOptions, generate_mesh

    t = time.perf_counter()
    log.info("meshing the box %s ...", " ".join(f"{v:g}" for v in args.bbox))
    g = generate_mesh(
        tuple(args.bbox),
        resolution=args.resolution,
        min_size=args.min_size,
        bathymetry=args.bathymetry,
        options=MeshgenOptions(min_angle=args.min_angle),
    )
    out = write_mesh(g.mesh, args.out)
    r = check_mesh(g.mesh)
    m = g.mesh
    print(
        f"{out}: {m.n_node} nodes, {m.n_face} faces, min angle {r.min_angle_deg:.1f}°, sizes {g.min_size:.0f}..{g.resolution:.0f} m, "
        f"{sum(b.role == 'open' for b in m.boundaries)} open / {sum(b.role != 'open' for b in m.boundaries)} land boundaries, "
        f"generated in {time.perf_counter() - t:.2f} s"
    )
    print("depth from: " + ", ".join(f"{k} ({v} nodes)" for k, v in g.depth_sources.items()))
    from workflows.meshgen import synthetic_warning, write_depth_sources

    write_depth_sources(out, g.depth_sources)
    if (warn := synthetic_warning(g.depth_sources)) is not None:
        print(f"warning: {warn}")
    for n in g.notes:
        print(f"note: {n}")
    if not r.ok:
        print(f"coastcast mesh generate: the generated mesh fails the check: {r.problems[0]}", file=sys.stderr)
        return 1
    return 0
