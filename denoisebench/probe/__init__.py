"""``denoisebench probe``: judge a denoiser directly, per noise level, on train and held-out images.

Modules: :mod:`.levels` (which noise levels), :mod:`.images` (which images), :mod:`.noise` (the
noisy inputs), :mod:`.estimates` (the provider's x0 estimates), :mod:`.statistics` (MSE, PSNR,
gap and bootstrap intervals), :mod:`.jacobian` (Hutchinson trace), :mod:`.agreement`
(``--against``), :mod:`.record` (the record on disk) and :mod:`.runner` (all of it in order).
"""
