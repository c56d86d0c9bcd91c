"""Training: the registries (activations, inits, losses, optimizers, schedules, conventions), models, packed
members, the hand-written MLP pass, probes and the training loop. Never imports the study or the site."""
