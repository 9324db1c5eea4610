"""One thin module per command group."""
