"""The commands people type (bin/*): argument parsing and wiring over the library, nothing more.
What they share is in common."""
