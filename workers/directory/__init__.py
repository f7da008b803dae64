"""The sponsor directory: which listed workers match, in what order."""
