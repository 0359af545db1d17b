"""`python -m awbench ...` (and `torchrun -m awbench ...`) run the command line."""

from awbench.cli import main

main()
