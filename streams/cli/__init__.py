"""The ``leadroute`` command line, one module per command group."""
