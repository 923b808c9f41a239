"""Demo 1: the data-analysis report (``python -m examples.report_agent``; see docs/demos.md)."""
