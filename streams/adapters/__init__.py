"""Redis implementations of the ports in :mod:`processors.ports`."""
