"""A live, seeded IceWarp-shaped tree for the demo, the tests and the benchmarks."""
