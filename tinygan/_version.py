"""The package version (one place: tinygan.__version__, checkpoints' records)."""
__version__ = "0.1.0"
