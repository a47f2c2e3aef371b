"""Human studies: pairwise judgements collected in the browser (or imported), fitted with Bradley–Terry,
and every metric of the run scored against them. The stage after `report`: it reads stored runs."""
