"""`eipkeeper demo`: the story of SPEC.md section 1, told on a sandbox inside this process."""
