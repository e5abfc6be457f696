"""The trial's rules and scores: pure Python, no framework, no I/O."""
