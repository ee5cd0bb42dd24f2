"""OpsCenter's Qt face: the bridge from the store, the panel models and the wall window."""
