"""The production smoke run (scripts/smoke): fakes of the outside systems on loopback, the service
under gunicorn with the production profile, and a scripted walk through it over HTTP."""
