"""Runs the notebooks (via nbval) exactly as students run them: there is one mode."""
import os

# One torch thread per kernel: on a shared 2-core machine two threads spin-wait against each other and
# against an explorer's background training, which made notebooks several times slower; the small
# models here run as fast on one thread (bench/train_speed.py prints the thread count it used).
os.environ.setdefault("OMP_NUM_THREADS", "1")
