"""Pure-logic unit tests: no sandbox, no Docker, fast."""
