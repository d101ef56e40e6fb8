"""infoprint's Hydra config tree, installed as package data: ``pkg://infoprint.conf``."""
