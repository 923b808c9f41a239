"""Reproducible benchmarks: agentkit side by side with a raw SDK loop, plain httpx and peer frameworks."""
