"""Hydra plugins of infoprint: the pack sweeper."""
