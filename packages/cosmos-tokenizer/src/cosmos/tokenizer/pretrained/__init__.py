"""Models shipped with the package (one folder per short name; see each folder's README.md)."""
