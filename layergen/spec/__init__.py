"""The spec language: TOML in, a validated, frozen :class:`LayerSpec` out.

``source_map`` locates keys and values in the TOML text, ``expressions``
parses, checks and rewrites the expressions in a spec, ``catalog`` lists
Keras's public names, ``guards`` and ``limits`` refuse names and sizes the
generated code cannot take, ``validate`` (one module per table) turns a file
into a :class:`~layergen.spec.model.LayerSpec`.
"""
