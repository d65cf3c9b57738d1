"""MLflow: import registered models from a tracking server, and read the runs releases came from."""
