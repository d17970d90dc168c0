"""Training: the loop, one optimiser step, schedules, EMA, checkpoints, the run's logs and plots."""
