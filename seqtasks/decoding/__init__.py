"""Decoding: greedy and beam search, temperature and top-k sampling; incremental, state-carrying."""
