"""imagegen-cli: a small client for the imagegen service (HTTP API, SQS queue, S3 bucket)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imagegen-cli")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
