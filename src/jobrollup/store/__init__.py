"""Where everything is kept: MongoDB behind one store (mongo), and the embedded server for a
laptop, the demo and the tests (embedded)."""
