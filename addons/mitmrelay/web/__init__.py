"""The Setup page in mitmweb: build, check and save a chain (addon.py mounts it, handlers.py
serves it, form.py turns its fields into options and recipes)."""
