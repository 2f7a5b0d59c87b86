"""Local path planning, pure: Frenet sampling over a reference line, vectorised collision checks."""
