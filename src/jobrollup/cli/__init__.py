"""The commands people type (bin/*): argument parsing and wiring, no aggregation logic."""
