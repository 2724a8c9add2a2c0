"""The spec language: TOML in, a validated, frozen :class:`LayerSpec` out.

``source_map`` locates keys and values in the TOML text, ``expressions``
checks and rewrites the expressions in a spec, ``catalog`` lists Keras's public
names, ``validate`` turns a file into a :class:`~layergen.spec.model.LayerSpec`.
"""
