"""``layergen explain``: what a spec computes, before any test runs.

:func:`explain_spec` traces the spec's ``call`` on Keras's symbolic tensors
(:mod:`.trace`) into an :class:`Explanation` (:mod:`.model`), which
:mod:`.text` prints as a table and :mod:`.mermaid` as a flowchart.
"""

from layergen.explain.model import Explanation, TraceError
from layergen.explain.trace import explain_spec

__all__ = ["Explanation", "TraceError", "explain_spec"]
