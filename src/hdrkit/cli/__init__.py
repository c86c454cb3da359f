"""The ``hdrkit`` command line (one subcommand per job)."""
