"""The training loop: open_lm's recipe on our model, data order, checkpoints and logs.

One optimizer step = one global batch: each rank splits its slice into ``acc`` micro-batches, scales each loss by
``1/acc`` and syncs gradients on the last one; then grad clipping, AdamW (one group, weight decay on every
parameter as open_lm), and the lr for the step from ``schedule.lr_at``. bf16 autocast wraps forward + loss on CUDA
when the precision is ``amp_bfloat16``; CPU runs fp32. Everything that decides a step's numbers (init seed, data
order, lr) is a function of the step, so a resumed run repeats an uninterrupted one.

Fault injection for tests: ``DCLM_TRAIN_SIGKILL_AT_STEP=N`` makes rank 0 SIGKILL itself right after step N.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch

from dclm_resources.modeling import Transformer, cross_entropy_with_z_loss
from dclm_resources.storage import Storage, is_s3, join_uri
from dclm_resources.training.checkpoint import (
    CheckpointFiles,
    checkpoint_number,
    clean_partial_writes,
    find_latest_checkpoint,
    list_checkpoints,
    write_checkpoint,
)
from dclm_resources.training.config import TrainConfig, TrainResult
from dclm_resources.training.data import BatchLoader, LocalBatch
from dclm_resources.training.distributed import (
    DistContext,
    WrappedModel,
    all_reduce_mean,
    barrier,
    broadcast_object,
    cleanup,
    full_model_state,
    full_optimizer_state,
    init_distributed,
    load_full_states,
    wrap_model,
)
from dclm_resources.training.metrics import LOSS_LOG, LossLog, TensorBoardLog, mfu, peak_flops, read_loss_log
from dclm_resources.training.plan import RunPlan, detect_device, make_plan
from dclm_resources.training.records import PARAMS_FILE, format_params_txt, model_reference, params_dict
from dclm_resources.training.schedule import lr_at
from dclm_resources.training.state import Progress, checkpoint_payloads, read_for_resume, restore_rng

FAULT_ENV = "DCLM_TRAIN_SIGKILL_AT_STEP"
Log = Callable[[str], None]


def _print(message: str) -> None:
    print(message, flush=True)


def train(config: TrainConfig, log: Log | None = None) -> TrainResult:
    """Run (or resume) one training run in this process; under torchrun every rank calls it.

    Returns the same ``TrainResult`` on every rank. ``log`` receives rank 0's progress lines (default: print).
    """
    if config.threads:
        torch.set_num_threads(config.threads)
    ctx = init_distributed(detect_device(config.device))
    try:
        return _Trainer(config, ctx, log or _print).run()
    finally:
        cleanup(ctx)


class _Trainer:
    def __init__(self, config: TrainConfig, ctx: DistContext, log: Log) -> None:
        self.config, self.ctx = config, ctx
        self.storage: Storage = config.storage()
        self.plan: RunPlan = make_plan(config, ctx.world_size, self.storage)
        self._log = log
        self.progress = Progress(shards_since_checkpoint=[])
        self.resumed_from = 0
        self.intervals: list[tuple[int, float]] = []  # (tokens, seconds) per log interval, this session
        # Logs that grow line by line live on a local disk; with s3:// logs they are uploaded at each checkpoint.
        self.remote = is_s3(self.plan.run_dir)
        scratch = os.environ.get("DCLM_TRAIN_SCRATCH") or os.path.join(tempfile.gettempdir(), "dclm-train")
        self.local_dir = os.path.join(scratch, self.plan.name) if self.remote else self.plan.run_dir

    def log(self, message: str) -> None:
        if self.ctx.is_master:
            self._log(message)

    # -- setup ----------------------------------------------------------------------------------------------
    def _build_model(self) -> Transformer:
        with torch.device("meta"):
            model = Transformer(self.plan.recipe.model)
        model.to_empty(device=self.ctx.device)
        model.reset_parameters(seed=self.plan.seed)  # same weights on every rank, on any device
        if self.plan.recipe.grad_checkpointing:
            model.set_grad_checkpointing(True)
        return model

    def _latest(self) -> str | None:
        latest = None
        if self.ctx.is_master:
            clean_partial_writes(self.plan.checkpoints_dir)
            latest = find_latest_checkpoint(self.plan.run_dir, self.storage, require_optimizer=True)
            if self.config.resume == "none" and list_checkpoints(self.plan.checkpoints_dir, self.storage):
                latest = "exists"
        latest = broadcast_object(latest, self.ctx)
        if latest == "exists":
            raise ValueError(
                f"{self.plan.checkpoints_dir} already holds checkpoints and --resume none was given; "
                "resume with --resume latest or choose another --logs / --name"
            )
        return latest if self.config.resume == "latest" else None

    def _write_run_files(self) -> None:
        if not self.ctx.is_master:
            return
        plan = self.plan
        self.storage.makedirs(plan.run_dir)
        self.storage.write_text(join_uri(plan.run_dir, PARAMS_FILE), format_params_txt(params_dict(plan)))
        model_json = json.dumps(plan.recipe.model.to_open_lm_json(), indent=4) + "\n"
        self.storage.write_text(self.model_json_uri, model_json)

    @property
    def model_json_uri(self) -> str:
        return join_uri(self.plan.run_dir, f"{self.plan.recipe.model_json_name}.json")

    # -- the run --------------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        plan, r = self.plan, self.plan.recipe
        if self.plan.precision != r.precision:
            self.log(f"note: precision {r.precision} runs as {self.plan.precision} on {plan.device_type}")
        latest = self._latest()
        restored = read_for_resume(latest, plan, self.storage) if latest else None
        if restored is not None and restored.progress.step >= plan.total_steps:
            self.log(f"{plan.name}: already trained ({restored.progress.step} steps); nothing to do")
            if not self.storage.exists(self.reference_uri):  # killed between the last save and the reference
                self._write_reference(restored.files.epoch)
            return self._result(restored.files.epoch, restored.progress, 0.0)
        if self.ctx.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model = self._build_model()
        self.num_params = model.num_params()
        wrapped = wrap_model(model, self.ctx, plan.fsdp, r.fsdp_flags, plan.torchcompile)
        optimizer = torch.optim.AdamW(
            list(wrapped.parameters()), lr=r.lr, betas=(r.beta1, r.beta2), eps=r.eps, weight_decay=r.wd,
            fused=self.ctx.device.type == "cuda",
        )
        if restored is not None:
            load_full_states(wrapped, optimizer, restored.model_state, restored.optimizer_state)
            restore_rng(restored.stats)
            self.progress = restored.progress
            self.resumed_from = restored.progress.step
            self.log(f"resumed from {restored.files.epoch} at step {self.resumed_from}")
            del restored
        self._write_run_files()
        self.log(
            f"{plan.name}: {self.num_params:,} parameters, {plan.total_steps} steps x {plan.global_bs} x "
            f"{plan.seq_len} tokens, world size {self.ctx.world_size} ({wrapped.kind}, {plan.device_type}, "
            f"{plan.precision}{', compiled' if plan.torchcompile else ''})"
        )
        final = self._loop(wrapped, optimizer)
        return self._result(final, self.progress, self._session_tokens_per_s())

    def _loop(self, wrapped: WrappedModel, optimizer: torch.optim.Optimizer) -> str:
        plan, r, ctx = self.plan, self.plan.recipe, self.ctx
        loader = BatchLoader(
            plan.source, self.storage, seed=plan.seed, seq_len=plan.seq_len, context_len=plan.context_len,
            vocab_size=r.model.vocab_size, global_batch=plan.global_bs, rank=ctx.rank, world_size=ctx.world_size,
            multiple_passes=r.multiple_data_passes, position=self.progress.position, prefetch=self.config.prefetch,
        )
        peak = peak_flops(plan.device_type, self.config.peak_flops)
        loss_log = tb = None
        if ctx.is_master:
            if self.remote and self.storage.exists(join_uri(plan.run_dir, LOSS_LOG)):
                os.makedirs(self.local_dir, exist_ok=True)
                with open(os.path.join(self.local_dir, LOSS_LOG), "wb") as fh:
                    fh.write(self.storage.read_bytes(join_uri(plan.run_dir, LOSS_LOG)))
            loss_log = LossLog(os.path.join(self.local_dir, LOSS_LOG), self.progress.step)
            if self.config.tensorboard:
                tb = TensorBoardLog(os.path.join(self.local_dir, "tensorboard"))
        fault_step = int(os.environ.get(FAULT_ENV, "0") or 0)
        last_epoch = find_latest_checkpoint(plan.run_dir, self.storage) or ""
        loss_sum, steps_in_sum = torch.zeros(2, device=ctx.device), 0
        interval_tokens, t_interval, t_session = 0, time.perf_counter(), time.perf_counter()
        wall_base = self.progress.wall_s
        batches = iter(loader)
        try:
            for step in range(self.progress.step, plan.total_steps):
                batch = next(batches)
                lr = lr_at(step, r.lr, r.warmup, plan.total_steps, r.cd)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                total, ce, grad_norm = self._step(wrapped, optimizer, batch)
                loss_sum += torch.stack([total, ce])
                self.progress.step = step + 1
                self.progress.position = batch.position
                shards = self.progress.shards_since_checkpoint or []
                shards.extend(name for name in batch.shards if not shards or shards[-1] != name)
                self.progress.shards_since_checkpoint = shards
                steps_in_sum += 1
                interval_tokens += plan.tokens_per_step
                done = self.progress.step
                if done % plan.log_every == 0 or done in plan.checkpoint_steps or done == plan.total_steps:
                    mean = all_reduce_mean(loss_sum / steps_in_sum, ctx)
                    if ctx.device.type == "cuda":
                        torch.cuda.synchronize()  # the interval ends when the GPU is done, not when it was asked
                    elapsed = time.perf_counter() - t_interval
                    self.intervals.append((interval_tokens, elapsed))
                    self.progress.wall_s = wall_base + time.perf_counter() - t_session
                    self._report(loss_log, tb, done, lr, mean, grad_norm, interval_tokens, elapsed, peak)
                    loss_sum.zero_()
                    steps_in_sum = 0
                    interval_tokens, t_interval = 0, time.perf_counter()
                if done in plan.checkpoint_steps:
                    self.progress.wall_s = wall_base + time.perf_counter() - t_session
                    last_epoch = self._save(wrapped, optimizer)
                    self._upload_logs(tb)
                    t_interval = time.perf_counter()  # saving time is not training throughput
                if fault_step and done == fault_step and ctx.is_master:
                    os.kill(os.getpid(), signal.SIGKILL)
        finally:
            loader.close()
            if loss_log is not None:
                loss_log.close()
            if tb is not None:
                tb.close()
        self._upload_logs(None)
        self._write_reference(last_epoch)
        return last_epoch

    def _step(
        self, wrapped: WrappedModel, optimizer: torch.optim.Optimizer, batch: LocalBatch
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        plan, r = self.plan, self.plan.recipe
        tokens = torch.from_numpy(batch.tokens).to(self.ctx.device, non_blocking=True)
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        optimizer.zero_grad(set_to_none=True)
        micro = plan.micro_batch_size
        total_acc = torch.zeros((), device=self.ctx.device)
        ce_acc = torch.zeros((), device=self.ctx.device)
        for i in range(r.acc):
            x, y = inputs[i * micro : (i + 1) * micro], targets[i * micro : (i + 1) * micro]
            with wrapped.no_sync(i < r.acc - 1), torch.autocast(
                device_type=self.ctx.device.type, dtype=torch.bfloat16, enabled=plan.autocast
            ):
                logits, _, _ = wrapped.forward(x)
                total, ce = cross_entropy_with_z_loss(logits, y, r.z_loss)
                (total / r.acc).backward()
            total_acc += total.detach() / r.acc
            ce_acc += ce.detach() / r.acc
        grad_norm = None
        if r.grad_clip_norm > 0:
            grad_norm = wrapped.clip_grad_norm(r.grad_clip_norm)
        optimizer.step()
        return total_acc, ce_acc, grad_norm

    def _report(
        self, loss_log: LossLog | None, tb: TensorBoardLog | None, done: int, lr: float, mean: torch.Tensor,
        grad_norm: Any, tokens: int, elapsed: float, peak: float | None,
    ) -> None:
        if not self.ctx.is_master:
            return
        tps = tokens / elapsed if elapsed > 0 else 0.0
        per_device = tps / self.ctx.world_size
        record = {
            "step": done,
            "loss": float(mean[0]),
            "ce": float(mean[1]),
            "lr": lr,
            "grad_norm": float(grad_norm) if grad_norm is not None else None,
            "tokens": done * self.plan.tokens_per_step,
            "samples_seen": self.progress.position.samples_seen,
            "tokens_per_s": tps,
            "tokens_per_s_per_device": per_device,
            "mfu": mfu(self.num_params, per_device, peak),
            "wall": self.progress.wall_s,
        }
        self.progress.last_loss = record["loss"]
        if loss_log is not None:
            loss_log.write(record)
        if tb is not None:
            tb.write(record)
        mfu_text = f" mfu {record['mfu']:.1%}" if record["mfu"] is not None else ""
        self.log(
            f"step {done}/{self.plan.total_steps} loss {record['loss']:.4f} lr {lr:.3g} "
            f"tokens/s {tps:,.0f} ({per_device:,.0f}/device){mfu_text}"
        )

    def _save(self, wrapped: WrappedModel, optimizer: torch.optim.Optimizer) -> str:
        number = self.plan.checkpoint_steps.index(self.progress.step) + 1
        model_state = full_model_state(wrapped)
        optimizer_state = full_optimizer_state(wrapped, optimizer)
        files = CheckpointFiles(self.plan.checkpoints_dir, number)
        if self.ctx.is_master:
            payloads = checkpoint_payloads(self.plan, number, self.progress, model_state, optimizer_state)
            write_checkpoint(files, *payloads, self.storage, self.config.delete_previous_checkpoint)
            self.log(f"checkpoint {files.epoch} (step {self.progress.step})")
        barrier(self.ctx)
        self.progress.shards_since_checkpoint = []
        return files.epoch

    def _upload_logs(self, tb: TensorBoardLog | None) -> None:
        """With s3:// logs, copy the local loss log and TensorBoard files up (rank 0)."""
        if not (self.remote and self.ctx.is_master):
            return
        if tb is not None:
            tb.flush()
        for root, _, names in os.walk(self.local_dir):
            for name in names:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, self.local_dir).replace(os.sep, "/")
                if name.startswith("."):
                    continue
                with open(path, "rb") as fh:
                    self.storage.write_bytes(join_uri(self.plan.run_dir, rel), fh.read())

    def _write_reference(self, epoch_uri: str) -> None:
        if not self.ctx.is_master or not epoch_uri:
            return
        plan = self.plan
        reference = model_reference(plan, epoch_uri, join_uri(plan.run_dir, PARAMS_FILE), self.model_json_uri)
        text = json.dumps(reference, indent=4) + "\n"
        self.storage.write_text(self.reference_uri, text)
        if self.config.model_reference_dir:
            self.storage.write_text(join_uri(self.config.model_reference_dir, f"{plan.name}.json"), text)

    @property
    def reference_uri(self) -> str:
        return join_uri(self.plan.run_dir, f"{self.plan.name}.json")

    def _session_tokens_per_s(self) -> float | None:
        """Steady throughput of this session: every log interval but the first (compile, warm-up)."""
        intervals = self.intervals[1:] if len(self.intervals) > 1 else self.intervals
        seconds = sum(s for _, s in intervals)
        return sum(t for t, _ in intervals) / seconds if seconds > 0 else None

    def _loss_records(self) -> list[dict[str, Any]]:
        local = os.path.join(self.local_dir, LOSS_LOG)
        remote = join_uri(self.plan.run_dir, LOSS_LOG)
        if self.remote and not os.path.isfile(local) and self.storage.exists(remote):
            lines = self.storage.read_text(remote).splitlines(keepends=True)
            return [json.loads(line) for line in lines if line.endswith("\n")]
        return read_loss_log(local)

    def _result(self, epoch_uri: str, progress: Progress, tokens_per_s: float | None) -> TrainResult:
        plan = self.plan
        records = self._loss_records() if self.ctx.is_master else []
        final_loss = records[-1]["loss"] if records else progress.last_loss
        if tokens_per_s is None or tokens_per_s == 0.0:
            rates = [rec["tokens_per_s"] for rec in records[1:]] or [rec["tokens_per_s"] for rec in records]
            tokens_per_s = sum(rates) / len(rates) if rates else None
        params = getattr(self, "num_params", plan.recipe.params)
        per_device = tokens_per_s / self.ctx.world_size if tokens_per_s else None
        tb_dir = join_uri(plan.run_dir, "tensorboard") if self.config.tensorboard else None
        return TrainResult(
            name=plan.name,
            run_dir=plan.run_dir,
            checkpoint=epoch_uri,
            model_reference=self.reference_uri,
            model_json=self.model_json_uri,
            params_txt=join_uri(plan.run_dir, PARAMS_FILE),
            loss_log=join_uri(plan.run_dir, LOSS_LOG),
            tensorboard_dir=tb_dir,
            steps=progress.step,
            total_steps=plan.total_steps,
            tokens_seen=progress.step * plan.tokens_per_step,
            final_loss=final_loss,
            tokens_per_s=tokens_per_s,
            tokens_per_s_per_device=per_device,
            mfu=mfu(params, per_device, peak_flops(plan.device_type, self.config.peak_flops)) if per_device else None,
            wall_s=progress.wall_s,
            world_size=self.ctx.world_size,
            device=plan.device_type,
            params=params,
            resumed_from_step=self.resumed_from,
            extra={"checkpoint_number": checkpoint_number(epoch_uri) if epoch_uri else None},
        )
