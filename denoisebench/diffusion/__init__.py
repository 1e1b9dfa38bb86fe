"""The diffusion process: noise schedules, the forward process, per-sample noise streams, the
samplers and the sampling loop that drives any sampler with any provider."""
