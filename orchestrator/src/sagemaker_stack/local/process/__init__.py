"""The emulator as a process: `server` (moto's WSGI app plus our additions), `emulator` (the
`Emulator` handle that starts and stops it), `port`, `persistence` (restore at start, save while
serving: it names every service whose state it restores, so it sits here above them) and
`leftovers` (what a killed emulator left running).
"""
