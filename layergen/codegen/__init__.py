"""From a validated spec to source text: ``render`` fills the Jinja2 templates,
``generate`` renders, formats and plans a layer and its test file."""
