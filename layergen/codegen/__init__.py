"""From a validated spec to source text: ``render`` fills the Jinja2 templates
with what ``layer_view`` and ``test_view`` decide, ``generate`` renders,
formats and plans a layer and its test file."""
