"""Train one VAE (or, with -m, a sweep of them) and fingerprint its latent channels.

The same as ``infoprint-train`` (:mod:`infoprint.cli`):

python train.py -m experiment=demo
python train.py -m seed='range(0,50)' model=beta_vae model.beta=1,4,16
python train.py -m seed='range(0,50)' pack=10     # 5 jobs, each training 10 seeds at once
"""

from infoprint.cli import train_main

if __name__ == "__main__":
    train_main()
