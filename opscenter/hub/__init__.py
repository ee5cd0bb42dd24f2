"""The hub: one shared picture for every screen in the room.

It takes the upstream feeds, logs every change with a sequence number in SQLite, and serves
windows over WebSocket (resume from a sequence number) and REST (acknowledgements, workflow,
annotations). The desktop app runs one in-process by default; `--hub URL` joins a remote one.
"""
