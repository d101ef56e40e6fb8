"""Analyse the fingerprints of an ensemble: information, NMI / VI structure, hotspots.

python analyze.py                                    # the most recent sweep in multirun/
python analyze.py source.path=multirun/<sweep>
python analyze.py source=wandb source.project=infoprint source.group=<sweep>
"""

import hydra
from omegaconf import DictConfig

from infoprint.tasks.analyze import analyze


@hydra.main(version_base="1.3", config_path="conf", config_name="analyze")
def main(cfg: DictConfig) -> None:
    analyze(cfg)


if __name__ == "__main__":
    main()
