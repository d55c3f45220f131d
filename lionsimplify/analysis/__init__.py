"""What is known about a program without training it: abstract execution (kinds, intervals,
errors, hazards), liveness across steps, the symbolic term view, value facts, the canonical form,
fingerprints, and the numeric interpreter that differential checks run on.
"""
