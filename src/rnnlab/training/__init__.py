"""Training: checkpoints now; the trainer (BPTT, truncated BPTT, clipping) joins with issue 3."""
