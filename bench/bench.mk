# bench/bench.mk - `make bench` (our server) and `make bench-compare` (Postfix + Dovecot
# peers, then ours, with us/peer ratios). Both need root; BENCH_QUICK=1 for a short run.
# See bench/README.
.PHONY: bench bench-compare

bench: all
	bash bench/bench.sh ours

bench-compare: all
	bash bench/bench.sh compare
