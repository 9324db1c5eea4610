"""hubctl: install and run a JupyterHub teaching hub on one Linux VM."""

__version__ = "0.2.0"
