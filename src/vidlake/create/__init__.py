"""One-click creation and live highlights: shot scoring, beat grid, timeline assembly."""
