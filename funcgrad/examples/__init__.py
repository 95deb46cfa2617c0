"""Runnable examples: ``python -m funcgrad.examples.train_digits``."""
