"""`coscale calibrate`: microbenchmarks on a real device -> an efficiency-family file with provenance.

`bench` runs the kernels (imports torch, only inside its functions); `fit` turns measurements into
efficiency fields (torch-free); `family_file` reads such a file back for `--efficiency FILE`
(torch-free, used on the predict path)."""
