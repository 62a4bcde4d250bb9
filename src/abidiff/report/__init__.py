"""Reports: terminal (rich), JSON, Markdown, NEWS."""
