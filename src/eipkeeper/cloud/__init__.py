"""Everything that talks to AWS. One adapter per service, each counting its calls."""
