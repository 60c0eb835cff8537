"""Real-browser tests of the dashboard (a package, so their module names do not clash with tests/)."""
