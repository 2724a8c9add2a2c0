"""``layergen check``: ``drift`` compares a generated tree with its specs,
``report`` prints the result."""
