"""People, providers and regulators: who uses the operator, and how they sign in."""
