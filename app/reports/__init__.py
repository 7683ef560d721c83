"""Document rendering (WeasyPrint), sealing (SM3 digests, sign-off), storage and background jobs."""
