"""``python -m denoisebench``: the same as the ``denoisebench`` command."""

from .cli import main

main()
