import hydra
import lightning.pytorch as L
import wandb
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> None:
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    callbacks = [instantiate(node) for node in cfg.callbacks.values()]
    loggers = [instantiate(node) for node in cfg.logger.values()]
    trainer = L.Trainer(
        **cfg.trainer,
        callbacks=callbacks,
        logger=loggers,
        default_root_dir=HydraConfig.get().runtime.output_dir,
    )
    try:
        trainer.fit(model, datamodule=datamodule)
    finally:
        wandb.finish()


if __name__ == "__main__":
    main()
