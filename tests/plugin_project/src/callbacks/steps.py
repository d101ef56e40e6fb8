from pathlib import Path

import lightning.pytorch as L


class StepCounter(L.Callback):
    """Writes the number of training steps to steps.txt in the trainer's root folder."""

    def on_train_end(self, trainer, pl_module):
        if trainer.is_global_zero:
            Path(trainer.default_root_dir, "steps.txt").write_text(str(trainer.global_step))
