"""The demo agents (run them from the repository root, e.g. ``python -m examples.trip_planner``)."""
