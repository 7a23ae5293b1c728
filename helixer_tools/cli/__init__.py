"""One module per command-line tool: each has ``build_parser()`` and ``main(argv=None)``."""
