"""layergen: generate complete, tested Keras 3 layers from a short TOML spec.

The pipeline, one module per step::

    spec.py (TOML -> validated LayerSpec)  ->  expressions.py (parse, check, rewrite)
    -> render.py (Jinja2 templates)  ->  formatting.py (black)
    -> plan.py (files in memory, with statuses)  ->  writer.py (atomic writes)
    -> runner.py (pytest on the generated tests)

``pipeline.py`` runs the steps for ``layergen new``; ``check.py`` and
``report.py`` serve ``layergen check``; ``cli.py`` only wires options to them.
Nothing here imports Keras or TensorFlow except ``layergen.testing``, the
checks that generated tests call at run time.
"""

__version__ = "0.1.0"
