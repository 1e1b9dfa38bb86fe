"""One benchmark run: validate, generate, evaluate and write a complete run directory atomically
(:mod:`.runner`), the on-disk record (:mod:`.records`) and the machine facts (:mod:`.environment`)."""
