"""Demo 2: the concert-trip planner (``python -m examples.trip_planner``; see docs/demos.md)."""
