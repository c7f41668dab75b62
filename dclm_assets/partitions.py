"""The two partition axes of DESIGN §1, declared once: every asset imports them from here.

``scale`` is static (the CPU scales plus DCLM's competition scales); ``dataset`` is dynamic, one key per
curated dataset or submission, added by the CLI, the demo or the submissions sensor.
"""

import dagster as dg

CPU_SCALES = ("micro", "small")
DCLM_SCALES = ("400m-1x", "1b-1x", "1b-5x", "3b-1x", "7b-1x", "7b-2x")
SCALES = CPU_SCALES + DCLM_SCALES

scale_partitions = dg.StaticPartitionsDefinition(list(SCALES))
dataset_partitions = dg.DynamicPartitionsDefinition(name="dataset")
scale_dataset_partitions = dg.MultiPartitionsDefinition({"scale": scale_partitions, "dataset": dataset_partitions})
