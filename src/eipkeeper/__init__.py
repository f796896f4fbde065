"""eipkeeper: stable names and addresses for an elastic EC2 fleet."""

__version__ = "0.1.0"
