"""The project's own callbacks (the same top-level name as infoprint's callbacks folder)."""
