"""Loading and validating the files in `config/`."""
