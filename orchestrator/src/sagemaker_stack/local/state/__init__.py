"""The emulator's state on disk and in memory: `layout` (the state folder's files and folders),
`snapshot` (moto's models pickled, S3 contents beside) and `lock` (changes held off while a
snapshot is taken).
"""
