"""Policy enforcement on data flows: one package per counterpart, all on one base interface."""
