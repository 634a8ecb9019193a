"""ocitool's version, in a module of its own: the registry client's User-Agent
names it without importing the package's lazy API (no import cycle)."""

__version__ = "0.1.0"
