"""The part of the shell that domains may import: settings, database, errors, clock."""
