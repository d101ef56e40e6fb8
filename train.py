"""Train one VAE (or, with -m, a sweep of them) and fingerprint its latent channels.

python train.py -m experiment=demo
python train.py -m seed='range(0,50)' model=beta_vae model.beta=1,4,16
python train.py -m seed='range(0,50)' pack=10     # 5 jobs, each training 10 seeds at once
"""

import hydra
from omegaconf import DictConfig

from infoprint.tasks.pack import train_pack
from infoprint.tasks.train import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> None:
    if cfg.get("pack_seeds"):
        train_pack(cfg)
    else:
        train(cfg)


if __name__ == "__main__":
    main()
