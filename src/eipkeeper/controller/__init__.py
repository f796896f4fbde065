"""The controller: observe the fleet and the zone, plan (pure), check the safety rules, apply.

`observe` reads (I/O), `planner` decides (pure), `safety` refuses (pure), `executor` acts
(I/O, in the order of SPEC.md section 6), `loop` repeats it (`eipkeeper run`).
"""
