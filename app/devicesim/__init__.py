"""Device simulator: a separate process that plays the body-camera/vehicle gateway on loopback
(`python -m app.devicesim --port 7310`). See server.py for its HTTP API."""
