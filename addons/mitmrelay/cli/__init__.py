"""The `mitmrelay` command: mitmdump and mitmweb with every addon loaded, recipes run by name."""
