"""The sponsor's home page: what their money did, with charts and statements."""
