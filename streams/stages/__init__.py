"""One module per stage: its input topic, its processor call, its output."""
