"""Forecast systems, cycles, forcing retrieval, dask pipelines, scheduling, publishing and the CLI."""
