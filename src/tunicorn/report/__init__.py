"""The report stage: terminal (rich), JSON and HTML views of saved records."""
