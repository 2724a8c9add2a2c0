"""``python -m layergen``."""

from layergen.cli import main

main()
