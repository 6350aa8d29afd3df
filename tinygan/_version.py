"""The package version, in one place: ``tinygan.__version__``, pyproject.toml (read from here at
build time) and every checkpoint's record."""
__version__ = "0.1.0"
