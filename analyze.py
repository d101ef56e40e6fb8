"""Analyse the fingerprints of an ensemble: information, NMI / VI structure, hotspots.

The same as ``infoprint-analyze`` (:mod:`infoprint.cli`):

python analyze.py                                    # the most recent sweep in multirun/
python analyze.py source.path=multirun/<sweep>
python analyze.py source=wandb source.project=infoprint source.group=<sweep>
"""

from infoprint.cli import analyze_main

if __name__ == "__main__":
    analyze_main()
