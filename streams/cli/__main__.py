"""``python -m streams.cli``: how run all and the tests start a stage with this interpreter."""

from streams.cli.main import main

main()
