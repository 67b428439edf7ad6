"""One processing or training job run locally: `runner` (start, wait, record), `channels` (what
moves between S3 and the job), `data` (the copies) and `isolation` (the job's private /opt/ml).
"""
