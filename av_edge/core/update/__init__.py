"""Model updates, pure parts: the signed rollout and which model version a vehicle should run."""
