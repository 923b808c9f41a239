"""``python -m agentkit.cli``: the same as the ``agentkit`` command."""

from agentkit.cli import main

if __name__ == "__main__":
    main()
