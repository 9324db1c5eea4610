"""hub.yaml: its schema (the one source of defaults), loading and error messages."""

from hubctl.config.loader import load_config, parse_config
from hubctl.config.schema import HubConfig

__all__ = ["HubConfig", "load_config", "parse_config"]
