"""Docker image builds of releases: context, Dockerfile, build and push jobs.
docker-py is imported only where the daemon is used."""
