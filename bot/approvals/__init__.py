"""The approval gate: staff approve an occasion's editions before a sensitive post goes out."""
