"""The dashboard: its route registry, the frame around every page, and its logic."""
