"""One file per algorithm; `zoo.registry` maps names to them."""
