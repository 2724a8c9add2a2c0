"""The checks, one module per family of properties."""
