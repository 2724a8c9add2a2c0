"""Running generated tests: ``runner`` starts one pytest process,
``pytest_plugin`` streams its results back."""
