"""A client library for accessing MuleRouter Wan2.2 image-to-video (wan2.2-i2v-plus)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
