"""Models down: a TUF repository of model packages and rollouts (cloud side) and the vehicle's updater."""
