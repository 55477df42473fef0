"""Training loops, one per family of algorithms. A loop decides when the agent acts and
learns, and logs; the agent decides how. Each has the signature

    loop(agent, env, config, *, seed, run_dir, stop) -> summary dict
"""
